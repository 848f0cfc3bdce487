import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { ToolDefinition } from '../../src/llm/chat-turn.js';
import { LangChainChatEngine } from '../../src/llm/langchain-chat-engine.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startConnectionProbe } from './connection-probe.js';
import { collect, ofType, openAIModel, turnRequest } from './support.js';

const weatherTool: ToolDefinition = {
  name: 'getWeather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const timeTool: ToolDefinition = { name: 'getTime', description: 'Current time', parameters: {} };

describe('LangChainChatEngine with ChatOpenAI against aimock', () => {
  const engine = new LangChainChatEngine();
  let llm: AimockServer;

  beforeAll(async () => {
    llm = await startAimock();
    const { mock } = llm;
    mock.onMessage('tell me a story', { content: 'Once upon a time, a small robot learned to stream.' }, { chunkSize: 6 });
    mock.onMessage('weather in paris', { toolCalls: [{ name: 'getWeather', arguments: { city: 'Paris' } }] }, { chunkSize: 4 });
    mock.onMessage(
      'weather and time',
      {
        content: 'Checking both.',
        toolCalls: [
          { name: 'getWeather', arguments: { city: 'Oslo' } },
          { name: 'getTime', arguments: {} },
        ],
      },
      { chunkSize: 8 },
    );
    // aimock keeps writing to a client that left: disconnectAfterMs ends its loop (else Jest waits for it).
    mock.onMessage('slow story', { content: 'word '.repeat(400) }, { chunkSize: 5, latency: 40, disconnectAfterMs: 600 });
    mock.onMessage('', { content: 'Fine.' });
  });

  afterAll(async () => {
    await llm.stop();
  });

  it('streams text as several deltas of one assistant message, with the completion id', async () => {
    const turn = engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'tell me a story' }));
    const events = await collect(turn.events);

    expect(events.map((event) => event.type)).toEqual([
      EventType.TEXT_MESSAGE_START,
      ...ofType(events, EventType.TEXT_MESSAGE_CONTENT).map(() => EventType.TEXT_MESSAGE_CONTENT),
      EventType.TEXT_MESSAGE_END,
    ]);
    const deltas = ofType(events, EventType.TEXT_MESSAGE_CONTENT);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((event) => event.delta).join('')).toBe('Once upon a time, a small robot learned to stream.');

    const start = events[0] as BaseEvent & { messageId: string; role: string };
    expect(start.role).toBe('assistant');
    expect(start.messageId).toMatch(/^chatcmpl-/);
    expect(events.every((event) => (event as { messageId?: string }).messageId === start.messageId)).toBe(true);
    expect(events.every((event) => typeof event.timestamp === 'number')).toBe(true);
  });

  it('reports token usage once the stream has ended', async () => {
    const turn = engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'tell me a story' }));
    expect(turn.usage()).toBeNull();
    await collect(turn.events);
    const usage = turn.usage();
    expect(usage).not.toBeNull();
    expect(usage!.outputTokens).toBeGreaterThan(0);
    expect(usage!.totalTokens).toBe(usage!.inputTokens + usage!.outputTokens);
    expect(llm.chatRequests().at(-1)!.stream_options).toEqual({ include_usage: true });
  });

  it('streams a tool call as START, argument deltas and END', async () => {
    const turn = engine.streamChatTurn(
      openAIModel(llm.baseURL),
      turnRequest({ text: 'weather in paris', tools: [weatherTool, timeTool] }),
    );
    const events = await collect(turn.events);

    const [start, ...rest] = events as Array<BaseEvent & Record<string, any>>;
    expect(start).toMatchObject({ type: EventType.TOOL_CALL_START, toolCallName: 'getWeather' });
    expect(start!.toolCallId).toMatch(/^call_/);
    expect(start!.parentMessageId).toMatch(/^chatcmpl-/);
    const args = ofType(events, EventType.TOOL_CALL_ARGS);
    expect(args.length).toBeGreaterThan(1);
    expect(args.every((event) => event.toolCallId === start!.toolCallId)).toBe(true);
    expect(JSON.parse(args.map((event) => event.delta).join(''))).toEqual({ city: 'Paris' });
    expect(rest.at(-1)).toMatchObject({ type: EventType.TOOL_CALL_END, toolCallId: start!.toolCallId });
    expect(ofType(events, EventType.TEXT_MESSAGE_START)).toHaveLength(0);
  });

  it('gives two tool calls in one answer their own START/ARGS/END, after the text', async () => {
    const turn = engine.streamChatTurn(
      openAIModel(llm.baseURL),
      turnRequest({ text: 'weather and time', tools: [weatherTool, timeTool] }),
    );
    const events = (await collect(turn.events)) as Array<BaseEvent & Record<string, any>>;

    const kinds = events.map((event) => event.type).filter((type, i, all) => type !== all[i - 1]);
    expect(kinds).toEqual([
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
    ]);
    const starts = ofType(events, EventType.TOOL_CALL_START);
    expect(starts.map((event) => event.toolCallName)).toEqual(['getWeather', 'getTime']);
    expect(new Set(starts.map((event) => event.toolCallId)).size).toBe(2);
    const messageId = events[0]!.messageId;
    expect(starts.every((event) => event.parentMessageId === messageId)).toBe(true);
    const argsOf = (id: string) =>
      JSON.parse(ofType(events, EventType.TOOL_CALL_ARGS).filter((event) => event.toolCallId === id).map((event) => event.delta).join(''));
    expect(argsOf(starts[0]!.toolCallId)).toEqual({ city: 'Oslo' });
    expect(argsOf(starts[1]!.toolCallId)).toEqual({});
  });

  it('sends the request settings: model, temperature, max_tokens, stop, tools and a forced tool', async () => {
    const model = openAIModel(llm.baseURL, { model: 'gpt-4.1-nano', temperature: 0.2, maxTokens: 77 });
    await collect(
      engine.streamChatTurn(
        model,
        turnRequest({
          text: 'weather in paris',
          tools: [weatherTool, timeTool],
          toolChoice: { name: 'getWeather' },
          settings: { stop: ['END', '###'] },
        }),
      ).events,
    );
    const body = llm.chatRequests().at(-1)!;
    expect(body).toMatchObject({ model: 'gpt-4.1-nano', temperature: 0.2, max_tokens: 77, stop: ['END', '###'], stream: true });
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'getWeather' } });
    expect(body.tools).toEqual([
      { type: 'function', function: { name: 'getWeather', description: weatherTool.description, parameters: weatherTool.parameters } },
      { type: 'function', function: { name: 'getTime', description: 'Current time', parameters: { type: 'object', properties: {} } } },
    ]);
  });

  it.each([
    ['required', 'required'],
    ['none', 'none'],
    ['auto', 'auto'],
  ] as const)('maps toolChoice %s to tool_choice %s', async (choice, wire) => {
    await collect(engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'x', tools: [timeTool], toolChoice: choice })).events);
    expect(llm.chatRequests().at(-1)!.tool_choice).toBe(wire);
  });

  it('sends neither tools nor tool_choice when no tools are offered, and the configured model by default', async () => {
    await collect(engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'x', toolChoice: 'required' })).events);
    const body = llm.chatRequests().at(-1)!;
    expect(body.model).toBe('gpt-4o-mini');
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('tool_choice');
    expect(body).not.toHaveProperty('temperature');
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('sends a conversation with tool calls in the order OpenAI requires', async () => {
    await collect(
      engine.streamChatTurn(
        openAIModel(llm.baseURL),
        turnRequest({
          tools: [weatherTool],
          messages: [
            { id: 's', role: 'system', content: 'Be brief.' },
            { id: 'u1', role: 'user', content: 'Weather in Rome?' },
            {
              id: 'a1',
              role: 'assistant',
              toolCalls: [
                { id: 'call_1', type: 'function', function: { name: 'getWeather', arguments: '{"city":"Rome"}' } },
                { id: 'call_lost', type: 'function', function: { name: 'getWeather', arguments: '{}' } },
              ],
            },
            { id: 'u2', role: 'user', content: 'thanks' },
            { id: 't1', role: 'tool', toolCallId: 'call_1', content: 'sunny' },
            { id: 'orphan', role: 'tool', toolCallId: 'call_x', content: 'lost' },
          ],
        }),
      ).events,
    );
    const { messages } = llm.chatRequests().at(-1)!;
    expect(messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'tool', 'user']);
    expect(messages[2]).toMatchObject({
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'getWeather', arguments: '{"city":"Rome"}' } }],
    });
    expect(messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'call_1', content: 'sunny' });
  });

  it('streams any LangChain chat model, generating the message id when it has none', async () => {
    const model = new FakeListChatModel({ responses: ['Hi there'] });
    const events = await collect(engine.streamChatTurn(model, turnRequest()).events);
    const deltas = ofType(events, EventType.TEXT_MESSAGE_CONTENT);
    expect(deltas.map((event) => event.delta).join('')).toBe('Hi there');
    expect(deltas.length).toBeGreaterThan(1);
    expect(events[0]).toMatchObject({ type: EventType.TEXT_MESSAGE_START, messageId: expect.any(String) });
    expect(events.at(-1)).toMatchObject({ type: EventType.TEXT_MESSAGE_END, messageId: deltas[0]!.messageId });
  });

  it("aborts the signal it gave the model once a whole answer is in, never the caller's", async () => {
    // Node 20 keeps a signal derived with AbortSignal.any alive while it has abort listeners, until
    // it aborts; the SDKs leave theirs on the signal they get. Without this abort every model call
    // left ~2 KB behind for good (npm run bench: the in-memory runner's heap plateau check).
    const given: AbortSignal[] = [];
    class SignalRecordingModel extends FakeListChatModel {
      override _streamResponseChunks(...args: Parameters<FakeListChatModel['_streamResponseChunks']>) {
        if (args[1].signal) given.push(args[1].signal);
        return super._streamResponseChunks(...args);
      }
    }
    const caller = new AbortController();
    const turn = engine.streamChatTurn(new SignalRecordingModel({ responses: ['All done'] }), turnRequest({ signal: caller.signal }));
    const events = await collect(turn.events);
    expect(ofType(events, EventType.TEXT_MESSAGE_CONTENT).map((event) => event.delta).join('')).toBe('All done');
    expect(given).toHaveLength(1);
    expect(given[0]!.aborted).toBe(true);
    expect(caller.signal.aborted).toBe(false);
  });

  it('refuses tools for a model without bindTools, with CONFIGURATION_ERROR', async () => {
    const model = new FakeListChatModel({ responses: ['hi'] });
    Object.defineProperty(model, 'bindTools', { value: undefined });
    const turn = engine.streamChatTurn(model, turnRequest({ tools: [weatherTool] }));
    const failure = await collect(turn.events).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CopilotRuntimeError);
    expect(failure).toMatchObject({ code: 'CONFIGURATION_ERROR', message: expect.stringContaining('does not support tool calling') });
  });

  it('refuses a forced tool that is not offered', async () => {
    const turn = engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ tools: [timeTool], toolChoice: { name: 'nope' } }));
    await expect(collect(turn.events)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('can iterate its events only once', async () => {
    const turn = engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'x' }));
    await collect(turn.events);
    await expect(collect(turn.events)).rejects.toThrow('only once');
  });

  it('stops promptly and quietly on abort, and closes the upstream connection', async () => {
    const probe = await startConnectionProbe(llm.mock.port);
    try {
      const controller = new AbortController();
      const turn = engine.streamChatTurn(
        openAIModel(`${probe.url}/v1`),
        turnRequest({ text: 'slow story', signal: controller.signal }),
      );
      const events: BaseEvent[] = [];
      for await (const event of turn.events) {
        events.push(event);
        // Abort while the engine waits for the next chunk (they come every 40 ms), not between events.
        if (ofType(events, EventType.TEXT_MESSAGE_CONTENT).length === 3) setTimeout(() => controller.abort(), 10);
      }

      // Promptly and quietly: the loop ended without an error a couple of chunks after the abort,
      // long before aimock's own cut (disconnectAfterMs, ~15 chunks) could have ended it...
      expect(controller.signal.aborted).toBe(true);
      expect(ofType(events, EventType.TEXT_MESSAGE_CONTENT).length).toBeLessThan(6);
      expect(ofType(events, EventType.TEXT_MESSAGE_END)).toHaveLength(0);
      // ...and the engine hung up on the provider, not the other way round.
      await probe.waitUntilAllClosed();
      expect(probe.closedBy()).toEqual(['client']);
    } finally {
      await probe.stop();
    }
  });

  it('cancels the upstream request when the consumer stops early', async () => {
    const probe = await startConnectionProbe(llm.mock.port);
    try {
      const turn = engine.streamChatTurn(openAIModel(`${probe.url}/v1`), turnRequest({ text: 'slow story' }));
      let seen = 0;
      for await (const _event of turn.events) {
        if (++seen === 3) break;
      }
      expect(probe.openConnections()).toBe(1);
      // Hung up by the engine, not by aimock's cut.
      await probe.waitUntilAllClosed();
      expect(probe.closedBy()).toEqual(['client']);
    } finally {
      await probe.stop();
    }
  });

  it('does not call the model when the signal is already aborted', async () => {
    const before = llm.chatRequests().length;
    const events = await collect(
      engine.streamChatTurn(openAIModel(llm.baseURL), turnRequest({ text: 'x', signal: AbortSignal.abort() })).events,
    );
    expect(events).toEqual([]);
    expect(llm.chatRequests()).toHaveLength(before);
  });
});
