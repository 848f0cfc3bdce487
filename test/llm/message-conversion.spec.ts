import { describe, expect, it } from '@jest/globals';
import type { Message } from '@ag-ui/core';
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { parseToolArguments, toLangChainMessages } from '../../src/llm/message-conversion.js';

const call = (id: string, name: string, args = '{}') => ({ id, type: 'function' as const, function: { name, arguments: args } });

/** role:content[tool_call_ids] per message, to compare whole conversations at a glance. */
function outline(messages: BaseMessage[]): string[] {
  return messages.map((message) => {
    if (message instanceof ToolMessage) return `tool:${message.tool_call_id}=${String(message.content)}`;
    if (message instanceof AIMessage) {
      const calls = message.tool_calls?.map((toolCall) => toolCall.id).join(',') ?? '';
      return `ai:${String(message.content)}${calls ? `[${calls}]` : ''}`;
    }
    return `${message.getType()}:${typeof message.content === 'string' ? message.content : JSON.stringify(message.content)}`;
  });
}

describe('toLangChainMessages', () => {
  it('maps each role to its LangChain message; developer becomes system', () => {
    const converted = toLangChainMessages([
      { id: 's', role: 'system', content: 'Be brief.' },
      { id: 'd', role: 'developer', content: 'Use metric units.' },
      { id: 'u', role: 'user', content: 'Hi' },
      { id: 'a', role: 'assistant', content: 'Hello!' },
    ]);
    expect(converted.map((message) => message.constructor)).toEqual([SystemMessage, SystemMessage, HumanMessage, AIMessage]);
    expect(outline(converted)).toEqual(['system:Be brief.', 'system:Use metric units.', 'human:Hi', 'ai:Hello!']);
  });

  it('converts assistant tool calls with parsed arguments, followed by their results', () => {
    const converted = toLangChainMessages([
      { id: 'u', role: 'user', content: 'Weather?' },
      { id: 'a', role: 'assistant', toolCalls: [call('c1', 'getWeather', '{"city":"Paris"}')] },
      { id: 't', role: 'tool', toolCallId: 'c1', content: '{"tempC":21}' },
    ]);
    const ai = converted[1] as AIMessage;
    expect(ai.tool_calls).toEqual([{ id: 'c1', name: 'getWeather', args: { city: 'Paris' }, type: 'tool_call' }]);
    expect(ai.content).toBe('');
    const tool = converted[2] as ToolMessage;
    expect(tool).toBeInstanceOf(ToolMessage);
    expect(tool.tool_call_id).toBe('c1');
    expect(tool.content).toBe('{"tempC":21}');
  });

  it('passes {} for unparsable arguments and keeps going', () => {
    const converted = toLangChainMessages([
      { id: 'a', role: 'assistant', toolCalls: [call('c1', 'broken', '{"city":'), call('c2', 'list', '[1,2]')] },
      { id: 't1', role: 'tool', toolCallId: 'c1', content: 'r1' },
      { id: 't2', role: 'tool', toolCallId: 'c2', content: 'r2' },
    ]);
    expect((converted[0] as AIMessage).tool_calls?.map((toolCall) => toolCall.args)).toEqual([{}, {}]);
    expect(outline(converted)).toEqual(['ai:[c1,c2]', 'tool:c1=r1', 'tool:c2=r2']);
  });

  it('drops tool results that answer no earlier call, and repeated results', () => {
    const converted = toLangChainMessages([
      { id: 'orphan-first', role: 'tool', toolCallId: 'c1', content: 'too early' },
      { id: 'u', role: 'user', content: 'Go' },
      { id: 'a', role: 'assistant', toolCalls: [call('c1', 'act')] },
      { id: 't', role: 'tool', toolCallId: 'c1', content: 'done' },
      { id: 'again', role: 'tool', toolCallId: 'c1', content: 'done twice' },
      { id: 'unknown', role: 'tool', toolCallId: 'nobody', content: 'lost' },
    ]);
    expect(outline(converted)).toEqual(['human:Go', 'ai:[c1]', 'tool:c1=done']);
  });

  it('drops tool calls without a result, and an assistant message left empty', () => {
    const converted = toLangChainMessages([
      { id: 'u1', role: 'user', content: 'Show a card' },
      { id: 'a1', role: 'assistant', toolCalls: [call('render', 'showCard')] },
      { id: 'u2', role: 'user', content: 'And the weather?' },
      { id: 'a2', role: 'assistant', content: 'Checking.', toolCalls: [call('w', 'getWeather'), call('x', 'neverAnswered')] },
      { id: 't', role: 'tool', toolCallId: 'w', content: 'sunny' },
    ]);
    expect(outline(converted)).toEqual(['human:Show a card', 'human:And the weather?', 'ai:Checking.[w]', 'tool:w=sunny']);
  });

  it('moves a late result right after its call, as OpenAI requires', () => {
    const converted = toLangChainMessages([
      { id: 'a', role: 'assistant', toolCalls: [call('c1', 'act'), call('c2', 'act')] },
      { id: 't2', role: 'tool', toolCallId: 'c2', content: 'second' },
      { id: 'u', role: 'user', content: 'meanwhile' },
      { id: 't1', role: 'tool', toolCallId: 'c1', content: 'first' },
    ]);
    expect(outline(converted)).toEqual(['ai:[c1,c2]', 'tool:c1=first', 'tool:c2=second', 'human:meanwhile']);
  });

  it('sends a call id that two assistant messages share only once', () => {
    const converted = toLangChainMessages([
      { id: 'a1', role: 'assistant', toolCalls: [call('c1', 'act')] },
      { id: 't', role: 'tool', toolCallId: 'c1', content: 'ok' },
      { id: 'a2', role: 'assistant', content: 'Again', toolCalls: [call('c1', 'act')] },
    ]);
    expect(outline(converted)).toEqual(['ai:[c1]', 'tool:c1=ok', 'ai:Again']);
  });

  it('uses the error of a tool message without content', () => {
    const converted = toLangChainMessages([
      { id: 'a', role: 'assistant', toolCalls: [call('c1', 'act')] },
      { id: 't', role: 'tool', toolCallId: 'c1', content: '', error: 'timed out' },
    ]);
    expect(outline(converted)).toEqual(['ai:[c1]', 'tool:c1=Error: timed out']);
  });

  it('sends text and image parts of user content, and leaves out UI-only messages', () => {
    const messages: Message[] = [
      {
        id: 'u',
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'data', value: 'AAAA', mimeType: 'image/png' } },
          { type: 'image', source: { type: 'url', value: 'https://example.com/cat.jpg' } },
          { type: 'audio', source: { type: 'data', value: 'BBBB', mimeType: 'audio/wav' } },
        ],
      },
      { id: 'r', role: 'reasoning', content: 'thinking...' },
      { id: 'act', role: 'activity', activityType: 'progress', content: { step: 1 } },
      { id: 'u2', role: 'user', content: [{ type: 'text', text: 'just text' }] },
    ];
    const converted = toLangChainMessages(messages);
    expect(converted).toHaveLength(2);
    expect(converted[0]!.content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
    ]);
    expect(converted[1]!.content).toBe('just text');
  });
});

describe('parseToolArguments', () => {
  it('accepts JSON objects only', () => {
    expect(parseToolArguments('{"a":1}')).toEqual({ a: 1 });
    expect(parseToolArguments('')).toEqual({});
    expect(parseToolArguments('null')).toEqual({});
    expect(parseToolArguments('"text"')).toEqual({});
    expect(parseToolArguments('{oops')).toEqual({});
  });
});
