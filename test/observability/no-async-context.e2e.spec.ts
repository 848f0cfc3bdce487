/**
 * No AsyncLocalStorage on the path of a run: on Node 20 one enabled AsyncLocalStorage puts promise
 * hooks on every promise of the process, which cost 12% of the server's CPU per streamed v2 token
 * and 28% per v1 token (bench:compare, 20 streams). Log fields travel in RequestContext.log instead
 * (test/observability/unit/log-context.spec.ts). This runs a v2 and a v1 answer with tools through
 * the real clients and checks that nothing enabled one.
 */
import { HttpAgent } from '@ag-ui/client';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { watchAsyncLocalStorage } from '../support/async-local-storage-watch.js';
import { chatInput, streamResponse, textOf } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule } from '../support/test-actions.module.js';

describe('a run enables no AsyncLocalStorage', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let watch: ReturnType<typeof watchAsyncLocalStorage>;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onToolResult('call-weather', { content: 'It is sunny in Paris.' });
    llm.mock.onMessage('weather in Paris', { toolCalls: [{ id: 'call-weather', name: 'getWeather', arguments: { city: 'Paris' } }] });
    llm.mock.onMessage('say hello', { content: 'Hello there, nice to meet you.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [TestActionsModule] });
    // aimock shares this test's process (in the bench it has its own): only the runtime counts.
    watch = watchAsyncLocalStorage('@copilotkit/aimock');
  });

  afterAll(async () => {
    watch?.restore();
    await rt?.close();
    await llm?.stop();
  });

  it('streams a v2 answer that calls a server tool, and a v1 answer, with none enabled', async () => {
    const agent = new HttpAgent({
      url: `${rt.url}/agent/default/run`,
      threadId: 'no-als-v2',
      initialMessages: [{ id: 'u1', role: 'user', content: 'weather in Paris' }],
    });
    const { newMessages } = await agent.runAgent({ runId: 'no-als-r1' });
    expect(JSON.stringify(newMessages)).toContain('It is sunny in Paris.');

    const client = new CopilotRuntimeClient({ url: rt.url });
    const { final, error } = await streamResponse(client, {
      data: chatInput({ threadId: 'no-als-v1', messages: [new TextMessage({ id: 'u2', role: Role.User, content: 'say hello' })] }),
    });
    expect(error).toBeUndefined();
    expect(final.status?.code).toBe('Success');
    expect(final.messages.map((message) => textOf(message)).join('')).toContain('Hello there, nice to meet you.');

    expect(watch.enabled).toEqual([]);
  });
});
