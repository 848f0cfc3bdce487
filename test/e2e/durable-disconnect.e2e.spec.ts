import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { userMessage } from '../support/chat-runs.js';
import { chatInput, clientRequestBody, clientRequestHeaders, eventually, multipartPayloads } from '../support/copilot-client.js';
import { deltas, finalStatus, prose, SUCCESS_STATUS, threadEvents, wsClient } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

/**
 * `onClientDisconnect: 'continue'` (CLIENT_DISCONNECT=continue): a v1 client that hangs up does
 * not stop its run; the answer is completed, stored and replayable.
 */
describe("client disconnect policy 'continue'", () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { onClientDisconnect: 'continue' } });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('lets the run finish in the background after the client hangs up', async () => {
    const marker = 'Keep going without me';
    const answer = prose('Background', 120);
    llm.mock.onMessage(marker, { content: answer }, { chunkSize: 4, latency: 10, disconnectAfterMs: 10_000 });
    // The client's own request, read as raw multipart until the first text delta, then hung up.
    const controller = new AbortController();
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: clientRequestHeaders(),
      body: clientRequestBody(chatInput({ threadId: 'thread-continue', messages: [userMessage('u-continue', marker)] })),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    while (!/"content",0\]/.test(raw)) {
      const { value, done } = await reader.read();
      if (done) throw new Error('The stream ended before the first delta.');
      raw += decoder.decode(value, { stream: true });
    }
    const runId: string = multipartPayloads(raw)[0].data.generateCopilotResponse.runId;
    controller.abort();
    await reader.cancel().catch(() => undefined);

    const run = await eventually(async () => {
      await rt.persisted();
      const found = await rt.app.get(ConversationStore).findRun(runId);
      expect(found?.status).toBe('succeeded');
      return found!;
    }, 10_000);
    expect(run.error).toBeNull();

    const messages = await rt.app.get(ConversationStore).listMessages('thread-continue');
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', content: answer });

    const ws = wsClient(rt.wsUrl);
    try {
      const replay = await threadEvents(ws, 'thread-continue', 0);
      expect(deltas(replay.events)).toBe(answer);
      expect(finalStatus(replay.events)).toMatchObject(SUCCESS_STATUS);
    } finally {
      await ws.dispose();
    }
  });
});
