import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { contractFixture } from '../support/contract-fixtures.js';
import { startRemoteEndpoint, type RemoteEndpointServer } from '../support/remote-endpoint-server.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { summarize, type IncrementalSummary, type MessageSummary } from './incremental-summary.js';
import { boundaryOf, parseMultipart } from './multipart.js';

/**
 * Replays the real v1 client's captured requests of upstream 1.10.6 with a Python SDK endpoint
 * (contract/v1/wire/remote_*) against our runtime with the loopback endpoint replaying the same
 * agent, and compares the raw multipart answers structurally (see wire.contract.spec.ts).
 *
 * The remote action answer is compared whole. For agent sessions everything but the
 * AgentStateMessages is compared whole (first part, text messages, metaEvents and the statuses of
 * their messages, response status, framing). AgentStateMessages follow the runtime's one v1
 * projection of agent state, shared with LangGraph JS and AG-UI agents: a message per step
 * change and per state, state without `messages`, and a last message with `running: false`
 * (upstream's last one still says `running: true`). So: every state upstream sent appears in
 * ours, in the same order, with the same keys, and ours end with the agent stopped.
 */
const WIRE_DIR = contractFixture('v1/wire/');

interface Capture {
  request: { method: string; headers: Record<string, string>; body: Record<string, any> };
  response: { status: number; headers: Record<string, string> };
}

const capture = (name: string): Capture => JSON.parse(readFileSync(new URL(`${name}.wire.json`, WIRE_DIR), 'utf8'))[0];
const rawCapture = (name: string): string => readFileSync(new URL(`${name}.raw.txt`, WIRE_DIR), 'utf8');

const isState = (message: MessageSummary) => message.item.__typename === 'AgentStateMessageOutput';
/** A message without its id (placeholders are numbered by appearance, and we send more state messages). */
const withoutIds = (message: MessageSummary) => ({ ...message, item: { ...message.item, id: '<id>' } });
const stateOf = (message: MessageSummary) => {
  const { messages: _messages, ...state } = JSON.parse(String(message.item.state));
  return state;
};

describe('v1 wire contract with a remote endpoint (captured upstream responses)', () => {
  let llm: AimockServer;
  let remote: RemoteEndpointServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('CALL_TOOL:remoteLookup', {
      toolCalls: [{ id: 'call_remoteLookup_1', name: 'remoteLookup', arguments: '{"key":"abc"}' }],
    });
    remote = await startRemoteEndpoint();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { remoteEndpoints: [{ url: remote.url }] } });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
    await remote?.close();
  });

  async function replay(name: string): Promise<{ ours: IncrementalSummary; theirs: IncrementalSummary; status: number }> {
    const { request, response: upstream } = capture(name);
    const response = await fetch(rt.url, { method: request.method, headers: request.headers, body: JSON.stringify(request.body) });
    expect(response.status).toBe(upstream.status);
    const boundary = boundaryOf(response.headers.get('content-type'))!;
    expect(boundary).toBe(boundaryOf(upstream.headers['content-type']));
    const ours = summarize(parseMultipart(await response.text(), boundary));
    const theirs = summarize(parseMultipart(rawCapture(name), boundary));
    expect(theirs.problems).toEqual([]);
    expect(ours.problems).toEqual([]);
    expect(ours.initial).toEqual(theirs.initial);
    expect(ours.final).toEqual({ hasNext: false });
    return { ours, theirs, status: response.status };
  }

  it('remote_action: the same answer as upstream, and the endpoint got what upstream sent', async () => {
    const { ours, theirs } = await replay('remote_action');
    expect(ours).toEqual({ ...theirs, runId: ours.runId });
    expect(remote.requests.filter((r) => r.path === '/actions/execute').at(-1)!.body).toEqual({
      name: 'remoteLookup',
      arguments: { key: 'abc' },
      properties: { authorization: 'tok-1' },
    });
  });

  it.each(['remote_agent_session', 'remote_agent_interrupt_resume', 'remote_agent_ck_interrupt'])(
    '%s: same text, metaEvents and statuses as upstream; the same states, in order',
    async (name) => {
      const { ours, theirs } = await replay(name);
      expect(ours.responseData).toEqual(theirs.responseData);
      expect(ours.metaEvents).toEqual(theirs.metaEvents);
      expect(ours.messages.filter((m) => !isState(m)).map(withoutIds)).toEqual(theirs.messages.filter((m) => !isState(m)).map(withoutIds));

      const ourStates = ours.messages.filter(isState);
      const theirStates = theirs.messages.filter(isState);
      for (const state of ourStates) {
        expect(state.keys).toEqual(theirStates[0].keys);
        expect(state.data).toEqual(theirStates[0].data);
        expect(state.item).toMatchObject({ agentName: 'remote_agent', threadId: theirStates[0].item.threadId, role: 'assistant' });
      }
      const ourSequence = ourStates.map(stateOf);
      let at = 0;
      for (const expected of theirStates.map(stateOf)) {
        while (at < ourSequence.length && JSON.stringify(ourSequence[at]) !== JSON.stringify(expected)) at += 1;
        expect(ourSequence.slice(at, at + 1)).toEqual([expected]);
        at += 1;
      }
      expect(ourStates.at(-1)!.item).toMatchObject({ running: false, active: false });
      // Upstream's states and the text come in the same order: state, text, state.
      const kinds = (summary: IncrementalSummary) => summary.messages.map((m) => m.item.__typename).filter((t, i, all) => t !== all[i - 1]);
      expect(kinds(ours)).toEqual(kinds(theirs));
    },
  );
});
