import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpAgent } from '@ag-ui/client';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { aguiScenarios, startAguiServer, type AguiServer } from '../support/agui-server.js';
import {
  chatInput,
  clientRequestBody,
  clientRequestHeaders,
  messagesOf,
  multipartPayloads,
  streamResponse,
  textOf,
} from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { createServer, type AddressInfo } from 'node:net';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An external AG-UI agent (the real `HttpAgent` against a real AG-UI server on loopback, built with
 * @ag-ui/encoder) behind the v1 contract, driven by the real `CopilotRuntimeClient`: a session, then
 * every fault such an agent can have. Each fault fails its run with a status that names the agent,
 * and the runtime keeps serving the other agents.
 */
describe('v1 session with an HttpAgent, and its faults', () => {
  let agents: AguiServer;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const limits = { firstEventTimeoutMs: 400, idleTimeoutMs: 400, totalTimeoutMs: 5_000 };
  let releaseSlowStart!: () => void;
  const slowStartReleased = new Promise<void>((release) => (releaseSlowStart = release));

  beforeAll(async () => {
    agents = await startAguiServer({
      chat: aguiScenarios.conversation(),
      down500: aguiScenarios.httpError(500),
      malformed: aguiScenarios.malformedSse(),
      early: aguiScenarios.contentBeforeStart(),
      afterEnd: aguiScenarios.eventsAfterFinish(),
      hang: aguiScenarios.hang(),
      silent: aguiScenarios.hangAfterStart(),
      slowStart: aguiScenarios.silentUntil(slowStartReleased),
    });
    const http = (route: string) => new HttpAgent({ url: agents.url(route), headers: { 'x-agent-key': 'server-set' } });
    // A port that nothing listens on (any more): the agent is down.
    const unreachable = new HttpAgent({ url: `http://127.0.0.1:${await closedPort()}/agent` });
    rt = await startRuntimeApp({
      options: {
        agents: [
          { id: 'chat', description: 'A Python agent', agent: http('chat') },
          { id: 'unreachable', agent: unreachable, limits },
          { id: 'down500', agent: http('down500'), limits },
          { id: 'malformed', agent: http('malformed'), limits },
          { id: 'early', agent: http('early'), limits },
          { id: 'afterEnd', agent: http('afterEnd'), limits },
          { id: 'hang', agent: http('hang'), limits },
          { id: 'silent', agent: http('silent'), limits },
          { id: 'slowStart', agent: http('slowStart'), limits: { ...limits, firstEventTimeoutMs: 5_000 } },
        ],
        heartbeatMs: 100,
      },
    });
    client = new CopilotRuntimeClient({ url: rt.url });
  });
  afterAll(async () => {
    await rt?.close();
    await agents?.stop();
  });

  const session = (agentName: string, threadId: string, properties: Record<string, unknown> = {}) =>
    streamResponse(client, {
      data: {
        ...chatInput({ threadId, messages: [new TextMessage({ id: `u-${threadId}`, role: Role.User, content: 'hello' })] }),
        agentSession: { agentName },
        agentStates: [{ agentName, state: '{"counter":0}' }],
      },
      properties,
    });

  it('streams the agent’s text, tool call and state; the agent gets the input, properties and state', async () => {
    const { final, error } = await session('chat', 'http-chat-1', { tenant: 'acme' });
    expect(error).toBeUndefined();
    expect(final.status).toMatchObject({ code: 'Success' });
    const messages = messagesOf(final);
    expect(textOf(messages.find((m) => m.__typename === 'TextMessageOutput'))).toBe('Hello from the agent');
    expect(messages.find((m) => m.__typename === 'ActionExecutionMessageOutput')).toMatchObject({ name: 'showAlert' });
    const states = messages.filter((m) => m.__typename === 'AgentStateMessageOutput');
    expect(JSON.parse(states.at(-1)!.state)).toEqual({ counter: 2, plan: ['look', 'answer'] });
    expect(states.at(-1)).toMatchObject({ running: false, nodeName: 'plan', agentName: 'chat' });

    const request = agents.requestsTo('chat').at(-1)!;
    expect(request.body).toMatchObject({
      threadId: 'http-chat-1',
      state: { counter: 0 },
      forwardedProps: { tenant: 'acme' },
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(request.headers['x-agent-key']).toBe('server-set');
  });

  const faults: Array<[agent: string, reason: RegExp, code: string]> = [
    ['unreachable', /^Agent 'unreachable' failed: its server could not be reached/, 'AGENT_FAILED'],
    ['down500', /^Agent 'down500' failed: its server answered HTTP 500\.$/, 'AGENT_FAILED'],
    ['malformed', /^Agent 'malformed' failed: it sent malformed event data/, 'AGENT_FAILED'],
    ['early', /^Agent 'early' failed: it broke the AG-UI event order/, 'AGENT_FAILED'],
    ['afterEnd', /^Agent 'afterEnd' failed: it broke the AG-UI event order/, 'AGENT_FAILED'],
    ['hang', /^Agent 'hang' timed out: no event within 400 ms of the start \(firstEventTimeoutMs\)\.$/, 'AGENT_TIMEOUT'],
    ['silent', /^Agent 'silent' timed out: no event for 400 ms \(idleTimeoutMs\)\.$/, 'AGENT_TIMEOUT'],
  ];

  it.each(faults)('%s: the run fails with a status naming the agent, nothing leaks, the others keep working', async (agent, reason, code) => {
    const { final } = await session(agent, `fault-${agent}`);
    expect(final.status).toMatchObject({ code: 'Failed', reason: 'UNKNOWN_ERROR' });
    const details = (final.status as { details: { description: string; originalError: { code: string } } }).details;
    expect(details.description).toMatch(reason);
    expect(details.originalError.code).toBe(code);
    expect(JSON.stringify(final)).not.toMatch(/agent\.py|stack|at .*\.js/);
    // The thread is free again and a healthy agent still answers.
    const healthy = await session('chat', `after-${agent}`);
    expect(healthy.final.status).toMatchObject({ code: 'Success' });
  });

  it('a long silent step keeps the client stream alive with keep-alive parts, then the answer follows', async () => {
    const data = {
      ...chatInput({ threadId: 'slow-start-1', messages: [new TextMessage({ id: 'u-slow', role: Role.User, content: 'hello' })] }),
      agentSession: { agentName: 'slowStart' },
    };
    const response = await fetch(rt.url, { method: 'POST', headers: clientRequestHeaders(), body: clientRequestBody(data) });
    let received = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) received += decoder.decode(chunk, { stream: true });
    })();
    // The agent stays silent until the client has received three keep-alive parts.
    await waitFor(() => received.split('\r\n').filter((line) => line === '{"hasNext":true}').length >= 3);
    releaseSlowStart();
    await reading;
    const payloads = multipartPayloads(received);
    const firstMessage = payloads.findIndex((part) => JSON.stringify(part).includes('"messages",'));
    const keepAlives = payloads.slice(0, firstMessage).filter((part) => JSON.stringify(part) === '{"hasNext":true}');
    expect(keepAlives.length).toBeGreaterThanOrEqual(3);
    expect(payloads.at(-1)).toEqual({ hasNext: false });
    expect(JSON.stringify(payloads)).toContain('Hello');
    expect(JSON.stringify(payloads)).toContain('"code":"Success"');
  });

  it('a hanging agent’s HTTP request is closed when its run fails', async () => {
    const request = agents.requestsTo('hang').at(-1)!;
    await expect(request.closed).resolves.toBe('aborted');
  });
});
