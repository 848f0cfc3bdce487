import { HttpAgent } from '@ag-ui/client';
import type { Message } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { type AimockServer, startAimock } from '../support/aimock.js';
import { startChat } from '../support/chat-runs.js';
import { type RuntimeApp, startRuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule } from '../support/test-actions.module.js';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { RunPolicyStage } from '../../src/index.js';
import { openStream, runInput, userMessage } from '../v2/support/v2-client.js';

/** One sample of a Prometheus text exposition: `name{labels} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const found = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('GET /metrics (Prometheus)', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let origin: string;
  const token = 'metrics-secret-token';

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onToolResult('call-weather', { content: 'It is sunny in Paris.' });
    llm.mock.onMessage('weather in Paris', { toolCalls: [{ id: 'call-weather', name: 'getWeather', arguments: { city: 'Paris' } }] });
    // First match wins: the answer to the tool result before the fixture that calls the tool.
    llm.mock.onToolResult('call-fail', { content: 'That failed.' });
    llm.mock.onMessage('fail the tool', { toolCalls: [{ id: 'call-fail', name: 'failingAction', arguments: {} }] });
    llm.mock.onMessage('slow hello', { content: 'Hello there, this streams slowly for a while.' }, { chunkSize: 2, latency: 40 });
    llm.mock.onMessage('hello', { content: 'Hello!' });
    // A guardrail of the user's: its refusals are counted by stage and code.
    const guardrail: RunPolicyStage = {
      name: 'test-guardrail',
      beforeRun: (run) => {
        if (JSON.stringify(run.input.messages).includes('forbidden')) throw new CopilotRuntimeError('BAD_USER_INPUT', 'That topic is not allowed.');
      },
    };
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      imports: [TestActionsModule],
      options: { metrics: { token }, runPolicies: [guardrail] },
    });
    origin = new URL(rt.url).origin;
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  const scrape = async () => {
    const reply = await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toContain('text/plain');
    return reply.text();
  };

  it('answers only with the token', async () => {
    expect((await fetch(`${origin}/metrics`)).status).toBe(401);
    expect((await fetch(`${origin}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const text = await scrape();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts runs, model calls, tokens, time to first token, tool calls, the event log and the pool', async () => {
    for (const [threadId, text] of [['m-weather', 'weather in Paris'], ['m-fail', 'fail the tool']]) {
      const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId });
      agent.messages = [{ id: `${threadId}-u1`, role: 'user', content: text } as Message];
      await agent.runAgent({ tools: [] });
    }
    const client = new CopilotRuntimeClient({ url: rt.url });
    await startChat(client, { threadId: 'm-v1', messageId: 'u1', text: 'hello' }).done;
    await rt.persisted();

    const text = await scrape();
    expect(sample(text, 'copilot_runs_started_total', { agent: 'default', protocol: 'v2' })).toBe(2);
    expect(sample(text, 'copilot_runs_started_total', { agent: 'default', protocol: 'v1' })).toBe(1);
    expect(sample(text, 'copilot_runs_finished_total', { agent: 'default', protocol: 'v2', status: 'succeeded' })).toBe(2);
    expect(sample(text, 'copilot_runs_finished_total', { agent: 'default', protocol: 'v1', status: 'succeeded' })).toBe(1);
    expect(sample(text, 'copilot_run_duration_seconds_count', { agent: 'default', status: 'succeeded' })).toBe(3);
    // Two model calls per v2 tool run (the call, then the answer to its result), one for v1.
    expect(sample(text, 'copilot_llm_calls_total', { provider: 'openai', model: 'gpt-4o-mini', outcome: 'ok' })).toBe(5);
    expect(sample(text, 'copilot_llm_time_to_first_token_seconds_count', { provider: 'openai', model: 'gpt-4o-mini' })).toBe(5);
    expect(sample(text, 'copilot_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', kind: 'input' })).toBeGreaterThan(0);
    expect(sample(text, 'copilot_llm_tokens_total', { provider: 'openai', model: 'gpt-4o-mini', kind: 'output' })).toBeGreaterThan(0);
    expect(sample(text, 'copilot_tool_calls_total', { source: 'server actions', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'copilot_tool_calls_total', { source: 'server actions', outcome: 'error' })).toBe(1);
    expect(sample(text, 'copilot_event_log_flush_seconds_count')).toBeGreaterThan(0);
    expect(sample(text, 'copilot_event_log_events_written_total')).toBeGreaterThan(0);
    expect(sample(text, 'copilot_event_log_queue_depth')).toBe(0);
    expect(sample(text, 'copilot_active_runs')).toBe(0);
    // The pool is open (the embedded database's single connection may be busy when scraped).
    const inUse = sample(text, 'copilot_db_pool_connections', { state: 'in_use' });
    const idle = sample(text, 'copilot_db_pool_connections', { state: 'idle' });
    expect((inUse ?? 0) + (idle ?? 0)).toBeGreaterThan(0);
    expect(sample(text, 'copilot_db_pool_waiting')).toBeGreaterThanOrEqual(0);
    // A rejection nobody handled would be logged and counted here (a clean run has none).
    expect(sample(text, 'copilot_unhandled_rejections_total')).toBe(0);
    // No per-run, per-thread or per-user label anywhere.
    expect(text).not.toMatch(/m-weather|m-fail|m-v1|thread=|run_id=/);
  });

  it('counts the runs a policy stage refuses, by stage and code', async () => {
    const reply = await fetch(`${rt.url}/agent/default/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(runInput({ threadId: 'm-refused', runId: 'r-refused', messages: [userMessage('u1', 'a forbidden topic')] })),
    });
    expect(reply.status).toBe(400);
    const text = await scrape();
    expect(sample(text, 'copilot_runs_refused_total', { agent: 'default', stage: 'test-guardrail', code: 'BAD_USER_INPUT' })).toBe(1);
  });

  it('shows a run in flight and its open stream, and forgets both when it ends', async () => {
    const stream = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'm-live', runId: 'r-live', messages: [userMessage('u1', 'slow hello')] }));
    await stream.next('TEXT_MESSAGE_CONTENT');
    const during = await scrape();
    expect(sample(during, 'copilot_active_runs')).toBe(1);
    expect(sample(during, 'copilot_open_streams', { transport: 'sse' })).toBe(1);
    await stream.done;
    await rt.persisted();
    const after = await scrape();
    expect(sample(after, 'copilot_active_runs')).toBe(0);
    expect(sample(after, 'copilot_open_streams', { transport: 'sse' })).toBe(0);
  });
});

describe('GET /metrics on a port of its own (METRICS_PORT)', () => {
  let rt: RuntimeApp;
  let port: number;

  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    rt = await startRuntimeApp({ options: { metrics: { port, host: '127.0.0.1', defaultMetrics: false } } });
  });

  afterAll(async () => {
    await rt?.close();
  });

  it('serves them there without a token, and not on the main port', async () => {
    const reply = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(reply.status).toBe(200);
    const text = await reply.text();
    expect(text).toContain('# TYPE copilot_runs_started_total counter');
    expect(text).not.toContain('process_cpu_user_seconds_total');
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    expect((await fetch(`${new URL(rt.url).origin}/metrics`)).status).toBe(404);
  });
});

