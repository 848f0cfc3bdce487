import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpAgent, type AbstractAgent } from '@ag-ui/client';
import { ProxiedCopilotRuntimeAgent, type CopilotKitCore } from '@copilotkit/core';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AGENT_RUNNER, type AgentRunner } from '../../src/runs/agent-runner.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { awaitAimockCut } from '../support/chat-runs.js';
import { eventually, recordFetch, type RecordedExchange } from '../support/copilot-client.js';
import { prose } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { connectedCore, pretendBrowser, userMessage } from './support/v2-client.js';

/**
 * The real frontend against our v2 routes: `@copilotkit/core` 1.74 (CopilotKitCore, what
 * `<CopilotKitProvider>` runs) in both transports it negotiates (REST routes, single-route
 * envelope), and `@ag-ui/client`'s HttpAgent, on the built-in `default` agent (the LLM path,
 * aimock as the model): a chat turn, a frontend tool and its follow-up run, connect after a run
 * and during one, stop, a busy thread, an unknown agent.
 */
const AIMOCK_CUT_MS = 3000;
const SLOW_ANSWER = prose('The slow answer', 600);

/** The text of the assistant messages, in order. */
const assistantTexts = (agent: AbstractAgent) =>
  agent.messages.filter((m) => m.role === 'assistant' && typeof m.content === 'string' && m.content).map((m) => m.content);

/** A message as plain JSON (the client keeps keys in its own order). */
const normalized = (messages: unknown[]) => JSON.parse(JSON.stringify(messages)).map((m: Record<string, unknown>) => sortKeys(m));

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

describe.each([
  ['REST routes (auto-detected)', 'auto' as const],
  ['single route', 'single' as const],
])('@copilotkit/core 1.74 over %s', (_label, transport) => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let fetches: ReturnType<typeof recordFetch>;
  const bannerCalls: unknown[] = [];
  const thread = (name: string) => `${transport}-${name}`;

  const core = (extra: Partial<Parameters<typeof connectedCore>[0]> = {}): Promise<CopilotKitCore> =>
    connectedCore({
      runtimeUrl: rt.url,
      runtimeTransport: transport,
      headers: { 'x-tenant': 'acme' },
      properties: { userId: 'u-42' },
      tools: [
        {
          name: 'showBanner',
          description: 'Shows a banner',
          parameters: z.object({ text: z.string() }),
          handler: async (args: unknown) => {
            bannerCalls.push(args);
            return 'banner shown';
          },
        },
      ],
      ...extra,
    });

  /** The default agent of a fresh core, on `threadId`, with a user message when given. */
  const agentOn = async (threadId: string, text?: string) => {
    const copilotkit = await core();
    const agent = copilotkit.getAgent('default')!;
    agent.threadId = threadId;
    if (text) agent.addMessage(userMessage(`${threadId}-u1`, text));
    return { copilotkit, agent };
  };

  /** The requests the client made to the runtime, as `METHOD path [envelope method]`. */
  const requests = (exchanges: RecordedExchange[], from = 0) =>
    exchanges.slice(from).filter((e) => e.url.startsWith(rt.url)).map((e) => `${e.method} ${e.url.slice(rt.url.length) || '/'}`);

  let leaveBrowser: (() => void) | undefined;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onToolResult('call_banner', { content: 'The banner is up.' });
    llm.mock.onMessage('Show the banner', { toolCalls: [{ id: 'call_banner', name: 'showBanner', arguments: { text: 'Welcome' } }] });
    llm.mock.onMessage('Hello v2', { content: 'Hello from the mock model.' }, { chunkSize: 4 });
    llm.mock.onMessage('Take your time', { content: SLOW_ANSWER }, { chunkSize: 6, latency: 10 });
    llm.mock.onMessage('Stop me', { content: SLOW_ANSWER }, { chunkSize: 3, latency: 40, disconnectAfterMs: AIMOCK_CUT_MS });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL });
    // Only now, with the database started: see pretendBrowser.
    leaveBrowser = pretendBrowser();
    fetches = recordFetch();
  });

  afterEach(() => {
    bannerCalls.length = 0;
  });

  afterAll(async () => {
    fetches?.restore();
    leaveBrowser?.();
    await rt?.close();
    await llm?.stop();
  });

  it('a chat turn: connect (empty thread), run, the answer streamed as one assistant message', async () => {
    const from = fetches.exchanges.length;
    const { copilotkit, agent } = await agentOn(thread('chat'));
    // As the provider does on mount: join the thread first (nothing to replay yet), then chat.
    await copilotkit.connectAgent({ agent });
    agent.addMessage(userMessage('chat-u1', 'Hello v2'));
    const result = await copilotkit.runAgent({ agent });

    expect(result.newMessages).toEqual([{ id: expect.any(String), role: 'assistant', content: 'Hello from the mock model.' }]);
    expect(assistantTexts(agent)).toEqual(['Hello from the mock model.']);
    const expected =
      transport === 'auto'
        ? ['GET /info', 'POST /agent/default/connect', 'POST /agent/default/run']
        : ['POST /', 'POST /', 'POST /'];
    expect(requests(fetches.exchanges, from)).toEqual(expected);
    const run = fetches.exchanges.filter((e) => e.url.startsWith(rt.url)).at(-1)!;
    expect(run.status).toBe(200);
    expect(run.headers.get('content-type')).toBe('text/event-stream');
    // The frontend's properties are the model's forwardedProps-free request; the model saw the user's text.
    expect(llm.chatRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'user', content: 'Hello v2' });
  });

  it('a frontend tool: the model calls it, the client runs the handler, the follow-up run answers', async () => {
    const { copilotkit, agent } = await agentOn(thread('tool'), 'Show the banner');
    const from = fetches.exchanges.length;
    await copilotkit.runAgent({ agent });

    expect(bannerCalls).toEqual([{ text: 'Welcome' }]);
    expect(agent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(agent.messages[1]).toMatchObject({ toolCalls: [{ id: 'call_banner', function: { name: 'showBanner', arguments: '{"text":"Welcome"}' } }] });
    expect(agent.messages[2]).toMatchObject({ role: 'tool', toolCallId: 'call_banner', content: 'banner shown' });
    expect(assistantTexts(agent)).toEqual(['The banner is up.']);
    expect(requests(fetches.exchanges, from)).toHaveLength(2);
    // The follow-up run sent the tool's result to the model.
    expect(llm.chatRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_banner', content: 'banner shown' });
  });

  it('connect after a run: a new client rebuilds the whole conversation', async () => {
    const first = await agentOn(thread('replay'), 'Show the banner');
    await first.copilotkit.runAgent({ agent: first.agent });

    const second = await agentOn(thread('replay'));
    const result = await second.copilotkit.connectAgent({ agent: second.agent });
    expect(normalized(second.agent.messages)).toEqual(normalized(first.agent.messages));
    expect(result.newMessages).toHaveLength(4);
    // Replayed tool calls are history: the handler does not run again.
    expect(bannerCalls).toHaveLength(1);
  });

  it('connect during a slow run: the joining client follows it live to the end', async () => {
    const runner = await agentOn(thread('live'), 'Take your time');
    const running = runner.copilotkit.runAgent({ agent: runner.agent });
    await eventually(() => {
      if ((assistantTexts(runner.agent)[0]?.length ?? 0) < 20) throw new Error('not streaming yet');
    }, 5000);

    const joiner = await agentOn(thread('live'));
    let textWhileRunning = '';
    let runnerDone = false;
    joiner.agent.subscribe({
      onTextMessageContentEvent: () => {
        if (!runnerDone) textWhileRunning = String(assistantTexts(joiner.agent)[0] ?? '');
      },
    });
    const joined = joiner.copilotkit.connectAgent({ agent: joiner.agent });
    await running;
    runnerDone = true;
    await joined;

    expect(assistantTexts(runner.agent)).toEqual([SLOW_ANSWER]);
    expect(normalized(joiner.agent.messages)).toEqual(normalized(runner.agent.messages));
    expect(textWhileRunning.length).toBeGreaterThan(0);
    expect(textWhileRunning.length).toBeLessThan(SLOW_ANSWER.length);
  });

  it('stop: the client hangs up and asks the runtime to stop; the run ends stopped with what it had said', async () => {
    const { copilotkit, agent } = await agentOn(thread('stop'), 'Stop me');
    const from = fetches.exchanges.length;
    const running = copilotkit.runAgent({ agent });
    await eventually(() => {
      if ((assistantTexts(agent)[0]?.length ?? 0) < 10) throw new Error('not streaming yet');
    }, 5000);
    copilotkit.stopAgent({ agent });
    await running;

    // The run request, then the stop request (`/agent/default/stop/<thread>`, or the `agent/stop` envelope).
    const stopCall = await eventually(() => {
      const calls = fetches.exchanges.slice(from).filter((e) => e.url.startsWith(rt.url));
      if (calls.length < 2) throw new Error('no stop request yet');
      return calls[1]!;
    });
    expect(requests([stopCall])).toEqual([transport === 'auto' ? `POST /agent/default/stop/${thread('stop')}` : 'POST /']);
    expect(stopCall.status).toBe(200);
    expect(JSON.parse(await stopCall.body)).toEqual({ stopped: true, interrupt: { type: 'RUN_ERROR', message: 'Run stopped by user', code: 'STOPPED' } });
    const runner = rt.app.get<AgentRunner>(AGENT_RUNNER);
    await eventually(async () => {
      if (await runner.isRunning(thread('stop'))) throw new Error('still running');
    });
    await rt.persisted();
    const [run] = await rt.app.get(DataSource).query(`SELECT status FROM runs WHERE thread_id = $1`, [thread('stop')]);
    expect(run.status).toBe('stopped');

    const later = await agentOn(thread('stop'));
    await later.copilotkit.connectAgent({ agent: later.agent });
    const said = String(assistantTexts(later.agent)[0] ?? '');
    expect(said.length).toBeGreaterThan(0);
    expect(SLOW_ANSWER.startsWith(said)).toBe(true);
    expect(said.length).toBeLessThan(SLOW_ANSWER.length);
    await awaitAimockCut(llm, 'Stop me', AIMOCK_CUT_MS + 2000);
  });

  it('a second run on a busy thread is refused with 409 before any stream; the first run is untouched', async () => {
    const first = await agentOn(thread('busy'), 'Take your time');
    const running = first.copilotkit.runAgent({ agent: first.agent });
    await eventually(() => {
      if ((assistantTexts(first.agent)[0]?.length ?? 0) < 10) throw new Error('not streaming yet');
    }, 5000);

    const second = await agentOn(thread('busy'), 'Hello v2');
    const from = fetches.exchanges.length;
    const errors: Array<{ code: string; error: Error }> = [];
    second.copilotkit.subscribe({ onError: ({ code, error }) => void errors.push({ code, error }) });
    await second.copilotkit.runAgent({ agent: second.agent }).catch((error: Error) => errors.push({ code: 'thrown', error }));

    const refused = fetches.exchanges.slice(from).find((e) => e.status === 409)!;
    expect(refused).toBeDefined();
    expect(refused.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(await refused.body)).toMatchObject({ error: 'Thread busy', code: 'THREAD_BUSY' });
    expect(errors.map((e) => e.error.message).join('\n')).toMatch(/409/);

    await running;
    expect(assistantTexts(first.agent)).toEqual([SLOW_ANSWER]);
  });

  it('an unknown agent: not offered by /info, and 404 "Agent not found" when asked for anyway', async () => {
    const copilotkit = await core();
    expect(copilotkit.getAgent('nope')).toBeUndefined();
    const agent = new ProxiedCopilotRuntimeAgent({ runtimeUrl: rt.url, agentId: 'nope', transport: transport === 'auto' ? 'rest' : 'single' });
    const failure = (await agent.runAgent().catch((error: unknown) => error)) as Error & { status?: number; payload?: unknown };
    expect(failure).toBeInstanceOf(Error);
    expect(failure.status).toBe(404);
    expect(failure.payload).toEqual({ error: 'Agent not found', message: "Agent 'nope' does not exist" });
  });
});

describe('@ag-ui/client HttpAgent on /agent/default/run', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Hello agent', { content: 'Hello, HttpAgent.' }, { chunkSize: 5 });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('a chat turn, then a second one on the same thread with the history', async () => {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId: 'http-agent-thread' });
    agent.addMessage(userMessage('h1', 'Hello agent'));
    const first = await agent.runAgent();
    expect(first.newMessages).toEqual([{ id: expect.any(String), role: 'assistant', content: 'Hello, HttpAgent.' }]);

    agent.addMessage(userMessage('h2', 'Hello agent again'));
    await agent.runAgent();
    expect(agent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(llm.chatRequests().at(-1)!.messages.filter((m) => m.role !== 'system')).toHaveLength(3);
  });

  it('an unknown agent: the run fails with HTTP 404 and upstream’s body', async () => {
    const agent = new HttpAgent({ url: `${rt.url}/agent/nope/run` });
    agent.addMessage(userMessage('n1', 'Hello agent'));
    const failure = (await agent.runAgent().catch((error: unknown) => error)) as Error & { status?: number; payload?: unknown };
    expect(failure.status).toBe(404);
    expect(failure.payload).toEqual({ error: 'Agent not found', message: "Agent 'nope' does not exist" });
  });
});
