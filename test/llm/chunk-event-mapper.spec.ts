import { describe, expect, it } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { AIMessageChunk, type ToolCallChunk } from '@langchain/core/messages';
import { ChunkEventMapper } from '../../src/llm/chunk-event-mapper.js';

function sequentialIds(): (prefix?: string) => string {
  let next = 0;
  return (prefix) => `${prefix ?? 'gen'}-${++next}`;
}

function run(chunks: AIMessageChunk[]): { events: BaseEvent[]; mapper: ChunkEventMapper } {
  const mapper = new ChunkEventMapper(sequentialIds());
  const events = [...chunks.flatMap((chunk) => mapper.map(chunk)), ...mapper.finish()];
  return { events, mapper };
}

/** TYPE(id)[payload] per event, compact enough to compare whole streams. */
function outline(events: BaseEvent[]): string[] {
  return events.map((event) => {
    const e = event as BaseEvent & Record<string, string>;
    switch (e.type) {
      case EventType.TEXT_MESSAGE_START:
      case EventType.TEXT_MESSAGE_END:
        return `${e.type}(${e.messageId})`;
      case EventType.TEXT_MESSAGE_CONTENT:
        return `CONTENT(${e.messageId})${e.delta}`;
      case EventType.TOOL_CALL_START:
        return `TOOL_CALL_START(${e.toolCallId})${e.toolCallName}<${e.parentMessageId}`;
      case EventType.TOOL_CALL_ARGS:
        return `ARGS(${e.toolCallId})${e.delta}`;
      case EventType.TOOL_CALL_END:
        return `TOOL_CALL_END(${e.toolCallId})`;
      default:
        return e.type;
    }
  });
}

const text = (content: string, id?: string) => new AIMessageChunk({ content, id });
const tools = (toolCallChunks: ToolCallChunk[], id?: string) =>
  new AIMessageChunk({ content: '', id, tool_call_chunks: toolCallChunks });

describe('ChunkEventMapper', () => {
  it('streams text as one message with the provider id, one CONTENT per non-empty delta', () => {
    const { events } = run([text('', 'chatcmpl-1'), text('Hel', 'chatcmpl-1'), text('', 'chatcmpl-1'), text('lo', 'chatcmpl-1')]);
    expect(outline(events)).toEqual([
      'TEXT_MESSAGE_START(chatcmpl-1)',
      'CONTENT(chatcmpl-1)Hel',
      'CONTENT(chatcmpl-1)lo',
      'TEXT_MESSAGE_END(chatcmpl-1)',
    ]);
    expect(events.every((event) => typeof event.timestamp === 'number')).toBe(true);
    expect(events[0]).toMatchObject({ role: 'assistant' });
  });

  it('generates a message id when the provider gives none', () => {
    const { events } = run([text('Hi')]);
    expect(outline(events)).toEqual(['TEXT_MESSAGE_START(gen-1)', 'CONTENT(gen-1)Hi', 'TEXT_MESSAGE_END(gen-1)']);
  });

  it('ends the text before a tool call, and tracks fragments by index', () => {
    const { events } = run([
      text('Let me check.', 'm'),
      tools([{ index: 0, id: 'call_a', name: 'getWeather', args: '' }], 'm'),
      tools([{ index: 0, args: '{"city":' }], 'm'),
      tools([{ index: 0, args: '"Paris"}' }], 'm'),
    ]);
    expect(outline(events)).toEqual([
      'TEXT_MESSAGE_START(m)',
      'CONTENT(m)Let me check.',
      'TEXT_MESSAGE_END(m)',
      'TOOL_CALL_START(call_a)getWeather<m',
      'ARGS(call_a){"city":',
      'ARGS(call_a)"Paris"}',
      'TOOL_CALL_END(call_a)',
    ]);
  });

  it('gives parallel tool calls their own START/ARGS/END, in order', () => {
    const { events } = run([
      tools([{ index: 0, id: 'a', name: 'one', args: '{}' }], 'm'),
      tools([{ index: 1, id: 'b', name: 'two', args: '{"x"' }], 'm'),
      tools([{ index: 1, args: ':1}' }], 'm'),
    ]);
    expect(outline(events)).toEqual([
      'TOOL_CALL_START(a)one<m',
      'ARGS(a){}',
      'TOOL_CALL_END(a)',
      'TOOL_CALL_START(b)two<m',
      'ARGS(b){"x"',
      'ARGS(b):1}',
      'TOOL_CALL_END(b)',
    ]);
  });

  it('holds argument fragments that come before the name, and generates a missing call id', () => {
    const { events } = run([tools([{ index: 0, args: '{"a"' }], 'm'), tools([{ index: 0, name: 'late', args: ':1}' }], 'm')]);
    expect(outline(events)).toEqual(['TOOL_CALL_START(call-1)late<m', 'ARGS(call-1){"a":1}', 'TOOL_CALL_END(call-1)']);
  });

  it('handles several whole calls in one chunk, and calls without index', () => {
    const { events } = run([
      tools([
        { id: 'x', name: 'first', args: '{"n":1}' },
        { id: 'y', name: 'second', args: '{"n":2}' },
      ]),
    ]);
    expect(outline(events)).toEqual([
      'TOOL_CALL_START(x)first<gen-1',
      'ARGS(x){"n":1}',
      'TOOL_CALL_END(x)',
      'TOOL_CALL_START(y)second<gen-1',
      'ARGS(y){"n":2}',
      'TOOL_CALL_END(y)',
    ]);
  });

  it('starts a new text message for text after a tool call', () => {
    const { events } = run([
      text('Before', 'm'),
      tools([{ index: 0, id: 'c', name: 'act', args: '{}' }], 'm'),
      text('After', 'm'),
    ]);
    expect(outline(events)).toEqual([
      'TEXT_MESSAGE_START(m)',
      'CONTENT(m)Before',
      'TEXT_MESSAGE_END(m)',
      'TOOL_CALL_START(c)act<m',
      'ARGS(c){}',
      'TOOL_CALL_END(c)',
      'TEXT_MESSAGE_START(gen-1)',
      'CONTENT(gen-1)After',
      'TEXT_MESSAGE_END(gen-1)',
    ]);
  });

  it('drops a call whose name never arrives', () => {
    const { events } = run([tools([{ index: 0, id: 'c', args: '{}' }], 'm')]);
    expect(events).toEqual([]);
  });

  it('reads text from content blocks', () => {
    const chunk = new AIMessageChunk({
      content: [
        { type: 'text', text: 'Hi ' },
        { type: 'thinking', thinking: 'hmm' },
        { type: 'text_delta', text: 'there' },
      ],
      id: 'm',
    });
    expect(outline(run([chunk]).events)).toEqual(['TEXT_MESSAGE_START(m)', 'CONTENT(m)Hi there', 'TEXT_MESSAGE_END(m)']);
  });

  it('sums token usage reported in several chunks', () => {
    const { mapper } = run([
      new AIMessageChunk({ content: '', usage_metadata: { input_tokens: 10, output_tokens: 0, total_tokens: 10 } }),
      text('Hi'),
      new AIMessageChunk({ content: '', usage_metadata: { input_tokens: 0, output_tokens: 3, total_tokens: 3 } }),
    ]);
    expect(mapper.tokenUsage()).toEqual({ inputTokens: 10, outputTokens: 3, totalTokens: 13 });
    expect(run([text('Hi')]).mapper.tokenUsage()).toBeNull();
  });

  it('counts running output totals once (Anthropic: message_start, then message_delta with the count so far)', () => {
    const mapper = new ChunkEventMapper(sequentialIds(), 'cumulative-output');
    for (const chunk of [
      new AIMessageChunk({ content: '', usage_metadata: { input_tokens: 25, output_tokens: 1, total_tokens: 26 } }),
      text('Hi'),
      new AIMessageChunk({ content: '', usage_metadata: { input_tokens: 0, output_tokens: 12, total_tokens: 12 } }),
    ]) {
      mapper.map(chunk);
    }
    expect(mapper.tokenUsage()).toEqual({ inputTokens: 25, outputTokens: 12, totalTokens: 37 });
  });

  it('keeps calls apart that share an index but not an id (Ollama numbers every call of a message 0)', () => {
    const { events } = run([
      tools([
        { index: 0, id: 'a', name: 'getWeather', args: '{"city":"Paris"}', type: 'tool_call_chunk' },
        { index: 0, id: 'b', name: 'getWeather', args: '{"city":"Berlin"}', type: 'tool_call_chunk' },
      ], 'm'),
    ]);
    expect(outline(events)).toEqual([
      'TOOL_CALL_START(a)getWeather<m',
      'ARGS(a){"city":"Paris"}',
      'TOOL_CALL_END(a)',
      'TOOL_CALL_START(b)getWeather<m',
      'ARGS(b){"city":"Berlin"}',
      'TOOL_CALL_END(b)',
    ]);
  });
});
