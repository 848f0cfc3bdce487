import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventType, type BaseEvent } from '@ag-ui/core';
import type { AgentCall } from '../../../src/agents/agent-call.js';
import { ANONYMOUS_IDENTITY } from '../../../src/common/request-context.js';
import { resolveRemoteEndpoints } from '../../../src/remote/remote-endpoint-config.js';
import { RemoteAgent } from '../../../src/remote/remote-agent.js';
import { RemoteHttpClient } from '../../../src/remote/remote-http-client.js';
import { startRemoteEndpoint, type RemoteEndpointServer } from '../../support/remote-endpoint-server.js';

/** A remote agent's run on its own: its terminal event in every ending, and its bounds. */
describe('RemoteAgent runs', () => {
  let remote: RemoteEndpointServer;

  beforeAll(async () => {
    remote = await startRemoteEndpoint();
  });
  afterAll(async () => {
    await remote?.close();
  });

  const agentWith = (timeoutMs: number, totalTimeoutMs: number) =>
    new RemoteAgent(
      resolveRemoteEndpoints([{ url: remote.url, timeoutMs, retry: { maxAttempts: 1 } }])[0],
      { name: 'remote_agent', description: '', type: 'langgraph' },
      new RemoteHttpClient(),
      { firstEventTimeoutMs: 0, idleTimeoutMs: 0, totalTimeoutMs },
    );

  const call = (content: string): AgentCall => ({
    identity: ANONYMOUS_IDENTITY,
    input: { threadId: 't1', runId: 'r1', messages: [{ id: 'u1', role: 'user', content }], tools: [], context: [], state: {} },
    properties: {},
    behaviour: { serverToolResults: 'client', stateTools: false },
    reportUsage: () => undefined,
  });

  async function run(agent: RemoteAgent, content: string, signal = new AbortController().signal): Promise<BaseEvent[]> {
    const prepared = await agent.prepare(call(content));
    const events: BaseEvent[] = [];
    for await (const event of prepared.events(signal, {})) events.push(event);
    return events;
  }

  it('a complete answer: RUN_STARTED, the mapped events, RUN_FINISHED', async () => {
    const events = await run(agentWith(5_000, 0), 'hello agent');
    expect(events[0].type).toBe(EventType.RUN_STARTED);
    expect(events.at(-1)!.type).toBe(EventType.RUN_FINISHED);
    expect(events.filter((e) => e.type === EventType.RUN_ERROR)).toEqual([]);
  });

  it('a stream gone silent past the endpoint timeout: RUN_ERROR NETWORK_ERROR naming the endpoint, open step closed', async () => {
    remote.fail('/agents/execute', { kind: 'stall' });
    // Long enough for the answer's start to arrive on a busy machine: the silence after it is what times out.
    const events = await run(agentWith(1_000, 0), 'hello agent');
    expect(events.at(-1)).toMatchObject({
      type: EventType.RUN_ERROR,
      code: 'NETWORK_ERROR',
      message: `Remote endpoint ${remote.url}/agents/execute sent nothing for 1000 ms. Try again later.`,
    });
    const steps = events.filter((e) => e.type === EventType.STEP_STARTED || e.type === EventType.STEP_FINISHED);
    expect(steps.map((e) => e.type)).toEqual([EventType.STEP_STARTED, EventType.STEP_FINISHED]);
  });

  it("a run longer than the agent's totalTimeoutMs: RUN_ERROR AGENT_TIMEOUT", async () => {
    remote.fail('/agents/execute', { kind: 'stall' });
    const events = await run(agentWith(10_000, 100), 'hello agent');
    expect(events.at(-1)).toMatchObject({ type: EventType.RUN_ERROR, code: 'AGENT_TIMEOUT', message: expect.stringContaining("Agent 'remote_agent' timed out") });
  });

  it('a stop ends the run quietly (no terminal event)', async () => {
    remote.fail('/agents/execute', { kind: 'stall' });
    const controller = new AbortController();
    const prepared = await agentWith(10_000, 0).prepare(call('hello agent'));
    const events: BaseEvent[] = [];
    for await (const event of prepared.events(controller.signal, {})) {
      events.push(event);
      if (event.type === EventType.STATE_SNAPSHOT) controller.abort();
    }
    expect(events.map((e) => e.type)).not.toContain(EventType.RUN_ERROR);
    expect(events.map((e) => e.type)).not.toContain(EventType.RUN_FINISHED);
  });
});
