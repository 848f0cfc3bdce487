import { EventType } from '@ag-ui/core';
import { describe, expect, it } from '@jest/globals';
import { parseEnvironment } from '../../../src/config/environment.js';
import { optionsFromEnvironment } from '../../../src/config/options-from-environment.js';
import { JsonLineError, JsonLinesIdleError, readJsonLines } from '../../../src/remote/json-lines.js';
import { resolveRemoteEndpoints } from '../../../src/remote/remote-endpoint-config.js';
import { RemoteAgentError, RemoteEventMapper } from '../../../src/remote/remote-event-mapper.js';
import { parseRemoteInfo } from '../../../src/remote/remote-info.js';
import { toRemoteMessages } from '../../../src/remote/remote-messages.js';
import { toMetaEvent } from '../../../src/graphql/v1/meta-event-projection.js';
import { agentLines } from '../../support/remote-endpoint-server.js';

function streamOf(chunks: Uint8Array[], options: { endOpen?: boolean } = {}): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      if (index < chunks.length) controller.enqueue(chunks[index++]);
      else if (!options.endOpen) controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>, idleMs?: number): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of readJsonLines(stream, { idleMs })) values.push(value);
  return values;
}

describe('readJsonLines', () => {
  const lines = [{ event: 'a', text: 'Hé ✓ 😀' }, { event: 'b', n: 2 }];
  const bytes = new TextEncoder().encode(lines.map((line) => JSON.stringify(line)).join('\n') + '\n');

  it('parses lines split across chunks at every byte, multi-byte characters included', async () => {
    expect(await collect(streamOf([...bytes].map((byte) => Uint8Array.of(byte))))).toEqual(lines);
  });

  it('parses a last line without its newline and skips blank lines', async () => {
    const text = `\n${JSON.stringify(lines[0])}\r\n\n${JSON.stringify(lines[1])}`;
    expect(await collect(streamOf([new TextEncoder().encode(text)]))).toEqual(lines);
  });

  it('a malformed line is a JsonLineError naming the line, after the good lines before it', async () => {
    const text = `${JSON.stringify(lines[0])}\n{"event": oops}\n${JSON.stringify(lines[1])}\n`;
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const value of readJsonLines(streamOf([new TextEncoder().encode(text)]))) seen.push(value);
    })().catch((caught: unknown) => caught);
    expect(seen).toEqual([lines[0]]);
    expect(error).toBeInstanceOf(JsonLineError);
    expect((error as JsonLineError).lineNumber).toBe(2);
    expect((error as Error).message).toMatch(/^line 2 is not JSON \(.+\): \{"event": oops\}$/);
  });

  it('a silence longer than idleMs is a JsonLinesIdleError', async () => {
    const stream = streamOf([new TextEncoder().encode(`${JSON.stringify(lines[0])}\n`)], { endOpen: true });
    await expect(collect(stream, 20)).rejects.toBeInstanceOf(JsonLinesIdleError);
  });
});

describe('parseRemoteInfo', () => {
  it('reads the list shape of older SDKs', () => {
    const parsed = parseRemoteInfo({
      actions: [{ name: 'remoteLookup', description: 'd', parameters: { type: 'object', properties: {} } }],
      agents: [{ name: 'crew', description: 'c', type: 'crewai' }],
      sdkVersion: '0.1.33',
    });
    expect(parsed).toEqual({
      info: {
        actions: [{ name: 'remoteLookup', description: 'd', parameters: { type: 'object', properties: {} } }],
        agents: [{ name: 'crew', description: 'c', type: 'crewai' }],
        sdkVersion: '0.1.33',
      },
      problems: [],
    });
  });

  it('reads the object shape of the current SDK (agents keyed by name, no type: LangGraph)', () => {
    const parsed = parseRemoteInfo({
      version: '0.1.50',
      agents: { remote_agent: { description: 'A LangGraph agent', className: 'LangGraphAgent' } },
      actions: [],
    });
    expect(parsed).toMatchObject({ info: { agents: [{ name: 'remote_agent', description: 'A LangGraph agent', type: 'langgraph' }] } });
  });

  it('skips entries without a usable name (noting each) and refuses answers of another shape', () => {
    expect(parseRemoteInfo({ actions: [{ description: 'x' }, { name: 'ok' }], agents: [{ name: 'a/b' }] })).toMatchObject({
      info: { actions: [{ name: 'ok', description: '' }], agents: [] },
      problems: ['actions[0] has no name', 'agents[0] has no name'],
    });
    expect(parseRemoteInfo([])).toEqual({ error: 'the answer is not a JSON object' });
    expect(parseRemoteInfo({ actions: {} })).toEqual({ error: '"actions" is not a list' });
  });
});

describe('RemoteEventMapper', () => {
  const mapAll = (lines: unknown[]) => {
    const mapper = new RemoteEventMapper('remote_agent');
    return [...lines.flatMap((line) => mapper.map(line)), ...mapper.finish()];
  };
  const body = (text: string, metaEvents: unknown[] = []) => ({
    name: 'remote_agent',
    threadId: 't',
    messages: [{ role: 'user', content: text }],
    metaEvents,
  });

  it('maps the captured session: state as step + snapshot, streamed text, the interrupt, the end state', () => {
    const events = mapAll(agentLines(body('hello agent INTERRUPT')));
    expect(events.map((event) => event.type)).toEqual([
      EventType.STEP_STARTED,
      EventType.STATE_SNAPSHOT,
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.CUSTOM,
      EventType.STEP_FINISHED,
      EventType.STATE_SNAPSHOT,
    ]);
    expect(events[0]).toMatchObject({ stepName: 'chat_node' });
    expect(events[1]).toMatchObject({ snapshot: { counter: 1 } });
    expect(events[2]).toMatchObject({ messageId: 'run-lc-msg-1' });
    expect(events.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT).map((e: any) => e.delta).join('')).toBe('Hi from the agent');
    expect(events[7]).toMatchObject({ name: 'on_interrupt', value: '{"question":"Approve?"}' });
    expect(toMetaEvent(events[7])).toMatchObject({ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}' });
  });

  it('maps on_copilotkit_interrupt to the wrapped on_interrupt v1 projects as CopilotKitLangGraphInterruptEvent', () => {
    const events = mapAll(agentLines(body('hello agent CK_INTERRUPT')));
    const interrupt = events.find((event) => event.type === EventType.CUSTOM)!;
    const meta = toMetaEvent(interrupt) as any;
    expect(meta).toMatchObject({ name: 'CopilotKitLangGraphInterruptEvent', data: { value: 'Please confirm' } });
    expect(meta.data.messages.map((m: any) => [m.__typename, m.id, m.content ?? m.arguments, m.name])).toEqual([
      ['TextMessageOutput', 'int-msg-1', ['Do you approve?'], undefined],
      ['ActionExecutionMessageOutput', 'int-tc-1', ['{"level":2}'], 'approve'],
    ]);
  });

  it('maps streamed tool-call chunks to one tool call', () => {
    const events = mapAll(agentLines(body('use a TOOL')));
    const calls = events.filter((event) => event.type.startsWith('TOOL_CALL'));
    expect(calls.map((event: any) => [event.type, event.toolCallName ?? event.delta ?? ''])).toEqual([
      [EventType.TOOL_CALL_START, 'showAlert'],
      [EventType.TOOL_CALL_ARGS, '{"message":'],
      [EventType.TOOL_CALL_ARGS, '"hi"}'],
      [EventType.TOOL_CALL_END, ''],
    ]);
  });

  it('on_copilotkit_error throws a RemoteAgentError with the code of its status', () => {
    const mapper = new RemoteEventMapper('remote_agent');
    const error = (() => {
      try {
        for (const line of agentLines(body('AGENT_ERROR'))) mapper.map(line);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(RemoteAgentError);
    expect(error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: "Agent 'remote_agent' reported an error (ValueError): The graph blew up" });
  });

  it('honours copilotkit:emit-messages false, maps CopilotKit custom events and CrewAI runtime events', () => {
    const events = mapAll([
      { event: 'on_chat_model_stream', metadata: { 'copilotkit:emit-messages': false }, data: { chunk: { kwargs: { content: 'hidden', id: 'x' } } } },
      { event: 'on_custom_event', name: 'copilotkit_manually_emit_message', data: { message_id: 'm1', message: 'manual' } },
      { event: 'on_custom_event', name: 'copilotkit_manually_emit_intermediate_state', data: { step: 2 } },
      { type: 'TextMessageStart', messageId: 'crew-1' },
      { type: 'TextMessageContent', messageId: 'crew-1', content: 'crew says' },
      { type: 'TextMessageEnd', messageId: 'crew-1' },
      { event: 'on_chain_end', data: {} },
      'not an object',
    ]);
    expect(events.map((event: any) => [event.type, event.delta ?? event.snapshot ?? event.messageId])).toEqual([
      [EventType.TEXT_MESSAGE_START, 'm1'],
      [EventType.TEXT_MESSAGE_CONTENT, 'manual'],
      [EventType.TEXT_MESSAGE_END, 'm1'],
      [EventType.STATE_SNAPSHOT, { step: 2 }],
      [EventType.TEXT_MESSAGE_START, 'crew-1'],
      [EventType.TEXT_MESSAGE_CONTENT, 'crew says'],
      [EventType.TEXT_MESSAGE_END, 'crew-1'],
    ]);
  });
});

describe('toRemoteMessages', () => {
  it('sends the conversation as CopilotKit messages: texts, tool calls (arguments parsed) and results', () => {
    const messages = toRemoteMessages(
      [
        { id: 'u1', role: 'user', content: 'hi' },
        { id: 'a1', role: 'assistant', toolCalls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"key":"k"}' } }] },
        { id: 'r1', role: 'tool', toolCallId: 'c1', content: '42' },
      ],
      'T',
    );
    expect(messages).toEqual([
      { id: 'u1', createdAt: 'T', type: 'TextMessage', content: 'hi', role: 'user' },
      { id: 'c1', createdAt: 'T', type: 'ActionExecutionMessage', name: 'lookup', arguments: { key: 'k' }, parentMessageId: 'a1' },
      { id: 'r1', createdAt: 'T', type: 'ResultMessage', actionExecutionId: 'c1', actionName: 'lookup', result: '42' },
    ]);
  });
});

describe('configuration', () => {
  it('REMOTE_ENDPOINTS: comma-separated URLs become endpoints with the REMOTE_* tunings', () => {
    const env = parseEnvironment({ REMOTE_ENDPOINTS: 'http://a.test/copilotkit, https://b.test/', REMOTE_ENDPOINT_TIMEOUT_MS: '5000' });
    const endpoints = resolveRemoteEndpoints(optionsFromEnvironment(env).remoteEndpoints);
    expect(endpoints.map((e) => [e.url, e.timeoutMs, e.discoveryTtlMs])).toEqual([
      ['http://a.test/copilotkit', 5000, 60000],
      ['https://b.test', 5000, 60000],
    ]);
  });

  it.each([
    ['http://a.test,ftp://b.test', 'REMOTE_ENDPOINTS: entry 2 ("ftp://b.test") is not an http or https URL'],
    ['http://a.test,,http://c.test', 'REMOTE_ENDPOINTS: entry 2 is empty (separate URLs with single commas)'],
    ['not a url', 'REMOTE_ENDPOINTS: entry 1 ("not a url") is not a valid URL'],
    ['http://a.test/x?token=1', 'REMOTE_ENDPOINTS: entry 1 ("http://a.test/x") must not have a query or fragment'],
  ])('a malformed REMOTE_ENDPOINTS (%s) stops the boot naming the variable and the entry', (value, message) => {
    expect(() => parseEnvironment({ REMOTE_ENDPOINTS: value })).toThrow(message);
  });

  it('module options: a bad entry stops the boot naming it; credentials never appear in labels', () => {
    expect(() => resolveRemoteEndpoints([{ url: 'http://a.test' }, { url: 'mailto:x' }])).toThrow(
      'remoteEndpoints[1].url is not an http or https URL',
    );
    expect(() => resolveRemoteEndpoints([{ url: 'http://a.test', headers: { a: 1 as never } }])).toThrow('remoteEndpoints[0].headers');
    expect(() => resolveRemoteEndpoints([{ url: 'http://a.test' }, { url: 'http://a.test/' }])).toThrow('configured twice');
    expect(resolveRemoteEndpoints([{ url: 'http://user:pw@a.test/ck/' }])[0]).toMatchObject({ url: 'http://user:pw@a.test/ck', label: 'http://a.test/ck' });
  });
});
