import { describe, it, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule } from '../support/test-actions.module.js';

const wire = (n: string) => JSON.parse(readFileSync(`/work/shared/contract/v1/wire/${n}.wire.json`, 'utf8'))[0];

describe('probe', () => {
  let llm: AimockServer; let rt: RuntimeApp;
  beforeAll(async () => {
    llm = await startAimock();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [TestActionsModule], options: { bodyLimit: '10kb' } });
  });
  afterAll(async () => { await rt?.close(); await llm?.stop(); });
  it('probes', async () => {
    llm.mock.onMessage('Hi there', { content: 'Hello! I am a mock.' });
    const w = wire('text_chat');
    const show = async (name: string, init: RequestInit, url = rt.url) => {
      const r = await fetch(url, init);
      const t = await r.text();
      console.log(name, r.status, JSON.stringify(Object.fromEntries(r.headers)), JSON.stringify(t).slice(0, 1500));
    };
    const H = { 'content-type': 'application/json', 'x-copilotkit-runtime-client-gql-version': '1.74.0' };
    const q = 'mutation G($data: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $data) { threadId } }';
    const vars = JSON.stringify({ data: { metadata: {}, messages: [{ id: 'm', textMessage: { role: 'user', content: 'Hi there' } }], frontend: { actions: [] } } });
    await show('get-mut', { method: 'GET', headers: H }, rt.url + '?query=' + encodeURIComponent(q) + '&variables=' + encodeURIComponent(vars));
    await show('get-noquery', { method: 'GET', headers: H }, rt.url);
    await show('get-badvars', { method: 'GET', headers: H }, rt.url + '?query=' + encodeURIComponent('{hello}') + '&variables=%7B');
    await show('head', { method: 'HEAD', headers: H });
    await show('post-textplain', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{hello}"}' });
    await show('post-noct', { method: 'POST', body: '{"query":"{hello}"}' });
    await show('options', { method: 'OPTIONS', headers: { origin: 'http://x', 'access-control-request-method': 'POST' } });
    await show('sse-bad', { method: 'POST', headers: { ...H, accept: 'text/event-stream' }, body: '{"query":"{ nope }"}' });
    await show('sse-badjson', { method: 'POST', headers: { ...H, accept: 'text/event-stream' }, body: '{"query":' });
    await show('multi-bad', { method: 'POST', headers: { ...H, accept: 'multipart/mixed' }, body: '{"query":"{ nope }"}' });
  });
});
