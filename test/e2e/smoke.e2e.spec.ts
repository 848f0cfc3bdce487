import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';

describe('smoke', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  beforeAll(async () => {
    llm = await startAimock();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL });
  });
  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('answers hello and streams a chat', async () => {
    llm.mock.onMessage('Hi there', { content: 'Hello! I am a mock.' }, { chunkSize: 5 });
    const client = new CopilotRuntimeClient({ url: rt.url });
    const hello = await fetch(`${rt.url}?query=${encodeURIComponent('{hello}')}`, { headers: { 'x-copilotkit-runtime-client-gql-version': '1.74.0' } });
    expect(await hello.json()).toEqual({ data: { hello: 'Hello World' } });
    const stream = client.asStream(
      client.generateCopilotResponse({
        data: {
          frontend: { actions: [], url: 'http://localhost' },
          messages: [{ id: 'u1', createdAt: new Date(), textMessage: { role: 'user' as any, content: 'Hi there' } }],
          metadata: { requestType: 'Chat' as any },
          threadId: 'thread-smoke',
        } as any,
        properties: {},
      }),
    );
    const snapshots: any[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      snapshots.push(structuredClone(value));
    }
    const last = snapshots.at(-1).generateCopilotResponse;
    console.log(JSON.stringify(last, null, 1), snapshots.length);
    expect(last.status.code).toBe('Success');
  });
});
