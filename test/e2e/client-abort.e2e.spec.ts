import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startConnectionProbe, type ConnectionProbe } from '../llm/connection-probe.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, eventually, streamResponse, textOf } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

/** aimock never notices a client that hangs up: it cuts its own stream after this long. */
const AIMOCK_CUT_MS = 2000;

/**
 * A client that aborts mid-stream must stop the upstream LLM request (upstream CopilotKit lets it run
 * to the end and pays for it). Measured on the LLM side: a TCP probe between the runtime and aimock
 * sees when the runtime's connection to the model closes.
 */
describe('v1 client: abort mid-stream', () => {
  let llm: AimockServer;
  let probe: ConnectionProbe;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;

  beforeAll(async () => {
    llm = await startAimock();
    probe = await startConnectionProbe(llm.mock.port);
    rt = await startRuntimeApp({ llmBaseUrl: `${probe.url}/v1` });
    client = new CopilotRuntimeClient({ url: rt.url });
  });

  afterAll(async () => {
    await rt?.close();
    await probe?.stop();
    await llm?.stop();
  });

  it('cancels the upstream LLM request (the runtime hangs up on the model), records the run as stopped, and keeps serving', async () => {
    // Left alone, the model would stream for 10 s. aimock itself never notices a client that hangs
    // up (it keeps its timers running until the stream ends), so it cuts the stream at 2 s: that
    // keeps Jest's exit clean, and the probe makes sure that cut is not what closed it.
    const longAnswer = 'All work and no play makes the model a dull boy. '.repeat(4);
    llm.mock.onMessage(
      'Write a long story',
      { content: longAnswer },
      { chunkSize: 5, latency: 250, disconnectAfterMs: AIMOCK_CUT_MS },
    );
    const controller = new AbortController();
    let openUpstreamAtAbort = -1;

    const { snapshots } = await streamResponse(
      client,
      {
        data: chatInput({
          threadId: 'thread-abort-1',
          messages: [new TextMessage({ id: 'u-abort', role: Role.User, content: 'Write a long story' })],
        }),
        signal: controller.signal,
      },
      (snapshot) => {
        if (textOf(snapshot.response.messages[0]).length === 0) return;
        openUpstreamAtAbort = probe.openConnections();
        controller.abort();
        return 'stop';
      },
    );

    expect(controller.signal.aborted).toBe(true);
    // The model was still streaming when the client left...
    expect(openUpstreamAtAbort).toBe(1);
    // ...and the runtime hung up on it: its side closed the connection first, not aimock's cut.
    await probe.waitUntilAllClosed();
    expect(probe.closedBy()).toEqual(['client']);
    const upstream = llm.mock.getRequests().find((entry) => JSON.stringify(entry.body).includes('Write a long story'))!;

    const runId = snapshots[0]!.response.runId!;
    expect(runId).toEqual(expect.any(String));
    const store = rt.app.get(ConversationStore);
    const run = await eventually(async () => {
      await rt.persisted();
      const found = await store.findRun(runId);
      expect(found?.status).toEqual(expect.any(String));
      expect(found!.status).not.toBe('running');
      return found!;
    });
    expect(run.status).toBe('stopped');
    expect(run.threadId).toBe('thread-abort-1');
    expect(run.finishedAt).toBeInstanceOf(Date);

    // The server keeps serving.
    llm.mock.onMessage('Are you still there', { content: 'Still here.' });
    const after = await streamResponse(client, {
      data: chatInput({
        threadId: 'thread-abort-2',
        messages: [new TextMessage({ id: 'u-after', role: Role.User, content: 'Are you still there?' })],
      }),
    });
    expect(after.final.status).toMatchObject({ code: 'Success' });
    expect(textOf(after.final.messages[0])).toBe('Still here.');

    // Let aimock's abandoned stream end, so that no timer outlives the suite.
    await eventually(() => expect(upstream.response.interrupted).toBe(true));
  });
});
