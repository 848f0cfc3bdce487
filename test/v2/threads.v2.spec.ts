import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ɵcreateThreadStore, type CopilotKitCore, type ɵThreadStore } from '@copilotkit/core';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { eventually, recordFetch } from '../support/copilot-client.js';
import { bearer } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { connectedCore, pretendBrowser, send, userMessage } from './support/v2-client.js';

/**
 * The thread list of today's React client (`useThreads`, the threads drawer) against our own
 * catalog: `@copilotkit/core` 1.74's thread store, over both transports it negotiates (REST routes
 * and the single-route envelope's `resource/request`), with JWT identities. Listing pages newest
 * activity first, rename, archive/unarchive, delete, reloading messages, a second tab, and another
 * identity's threads neither listed nor touched.
 */
const SECRET = 'threads-spec-secret-0123456789abcdef';

describe.each([
  ['REST routes', 'auto' as const],
  ['single route', 'single' as const],
])('thread list of @copilotkit/core 1.74 over %s', (_label, transport) => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let leaveBrowser: () => void;
  let alice: Record<string, string>;
  let bob: Record<string, string>;
  const cores: CopilotKitCore[] = [];
  const stores: ɵThreadStore[] = [];
  const id = (name: string) => `${transport}-${name}`;

  const core = async (who: Record<string, string>) => {
    const copilotkit = await connectedCore({ runtimeUrl: rt.url, runtimeTransport: transport, headers: who });
    cores.push(copilotkit);
    return copilotkit;
  };

  /** A chat turn on `threadId` by `who`, as the chat does it. */
  const chat = async (who: Record<string, string>, threadId: string, text: string) => {
    const copilotkit = await core(who);
    const agent = copilotkit.getAgent('default')!;
    agent.threadId = threadId;
    agent.addMessage(userMessage(`${threadId}-u1`, text));
    await copilotkit.runAgent({ agent });
    await rt.persisted();
  };

  /** The thread store `useThreads` creates, on the core's runtime fetch, its list loaded. */
  const threadStore = async (who: Record<string, string>, options: { limit?: number; includeArchived?: boolean } = {}) => {
    const copilotkit = await core(who);
    const store = ɵcreateThreadStore({ fetch: copilotkit.ɵruntimeFetch });
    stores.push(store);
    store.start();
    store.setContext({ runtimeUrl: rt.url, headers: who, agentId: 'default', ...options });
    await settled(store);
    return store;
  };

  const settled = (store: ɵThreadStore) =>
    eventually(() => {
      const state = store.getState();
      if (state.isLoading || state.isFetchingNextPage || state.inFlightMutationCount > 0) throw new Error('store busy');
    }, 5000);

  const refetched = async (store: ɵThreadStore) => {
    store.refetchThreads();
    await settled(store);
    expect(store.getState().error).toBeNull();
    return store.getState().threads;
  };

  const names = (store: ɵThreadStore) => store.getState().threads.map((thread) => [thread.id, thread.name, thread.archived]);

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage(/.*/, { content: 'Noted.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { auth: { jwt: { secret: SECRET } } } });
    alice = { authorization: await bearer(SECRET, `alice-${transport}`) };
    bob = { authorization: await bearer(SECRET, `bob-${transport}`) };
    leaveBrowser = pretendBrowser();
    for (const name of ['one', 'two', 'three']) await chat(alice, id(name), `Thread ${name}`);
    await chat(bob, id('bobs'), 'Bob was here');
  });

  afterAll(async () => {
    for (const store of stores) store.stop();
    leaveBrowser?.();
    await rt?.close();
    await llm?.stop();
  });

  it('info advertises the thread endpoints we serve, for the transport the client uses', async () => {
    const copilotkit = await core(alice);
    expect(copilotkit.threadEndpoints).toEqual({ list: true, inspect: true, mutations: true, realtimeMetadata: false });
    expect(copilotkit.suggestions).toBe(true);
  });

  it('lists the caller’s threads of the agent, newest activity first, in pages', async () => {
    const fetches = recordFetch();
    let store: ɵThreadStore;
    try {
      store = await threadStore(alice, { limit: 2 });
    } finally {
      fetches.restore();
    }
    // The transport's own way: the REST route, or the envelope's resource/request.
    const calls = fetches.exchanges.filter((e) => e.url.startsWith(rt.url));
    const lists: string[] = [];
    for (const call of calls) if ((await call.body).includes('"threads"')) lists.push(`${call.method} ${call.url.slice(rt.url.length) || '/'}`);
    expect(lists).toEqual([transport === 'auto' ? 'GET /threads?agentId=default&limit=2' : 'POST /']);
    expect(names(store)).toEqual([
      [id('three'), null, false],
      [id('two'), null, false],
    ]);
    expect(store.getState().nextCursor).toEqual(expect.any(String));
    store.fetchNextPage();
    await settled(store);
    expect(store.getState().fetchMoreError).toBeNull();
    expect(names(store).map(([threadId]) => threadId)).toEqual([id('three'), id('two'), id('one')]);
    expect(store.getState().nextCursor).toBeNull();
    expect(store.getState().threads[0]).toMatchObject({ agentId: 'default', createdAt: expect.any(String), updatedAt: expect.any(String) });

    const bobs = await threadStore(bob);
    expect(names(bobs)).toEqual([[id('bobs'), null, false]]);
  });

  it('rename, archive and unarchive reach the server; a second tab sees them on its next fetch', async () => {
    const tabA = await threadStore(alice);
    const tabB = await threadStore(alice);
    await tabB.renameThread(id('one'), 'First things');
    await tabB.archiveThread(id('two'));
    expect((await refetched(tabA)).map((t) => [t.id, t.name])).toEqual([
      [id('three'), null],
      [id('one'), 'First things'],
    ]);
    const withArchived = await threadStore(alice, { includeArchived: true });
    expect(names(withArchived)).toEqual([
      [id('three'), null, false],
      [id('two'), null, true],
      [id('one'), 'First things', false],
    ]);
    await withArchived.unarchiveThread(id('two'));
    expect((await refetched(tabA)).map((t) => t.id)).toEqual([id('three'), id('two'), id('one')]);
    // Renaming or archiving is no activity: the order stays the runs' order.
  });

  it('reloads a thread’s messages, and deletes a thread (gone for every tab)', async () => {
    const messages = await send(`${rt.url}/threads/${encodeURIComponent(id('three'))}/messages`, { method: 'GET', headers: alice });
    expect(messages.status).toBe(200);
    expect(JSON.parse(messages.text)).toEqual({
      messages: [
        { id: `${id('three')}-u1`, role: 'user', content: 'Thread three' },
        { id: expect.any(String), role: 'assistant', content: 'Noted.' },
      ],
    });
    // The inspection routes: the thread's logged AG-UI events, and its agent state.
    const events = await send(`${rt.url}/threads/${encodeURIComponent(id('three'))}/events`, { method: 'GET', headers: alice });
    const logged = JSON.parse(events.text).events as Array<{ type: string; threadId?: string }>;
    expect(logged[0]).toMatchObject({ type: 'RUN_STARTED', threadId: id('three') });
    expect(logged.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').length).toBeGreaterThan(0);
    expect(logged.at(-1)).toMatchObject({ type: 'RUN_FINISHED', threadId: id('three') });
    const state = await send(`${rt.url}/threads/${encodeURIComponent(id('three'))}/state`, { method: 'GET', headers: alice });
    expect([state.status, Object.keys(JSON.parse(state.text))]).toEqual([200, ['state']]);

    const tabA = await threadStore(alice);
    const tabB = await threadStore(alice);
    await tabB.deleteThread(id('three'));
    expect((await refetched(tabA)).map((t) => t.id)).toEqual([id('two'), id('one')]);
    const gone = await send(`${rt.url}/threads/${encodeURIComponent(id('three'))}/messages`, { method: 'GET', headers: alice });
    expect(gone.status).toBe(404);
  });

  it('another identity’s thread is never listed nor touched: every mutation fails as for a missing thread', async () => {
    const bobs = await threadStore(bob);
    // Bob knows Alice's thread id (say, from a shared link): it is not his.
    await expect(bobs.renameThread(id('one'), 'Mine now')).rejects.toThrow('Request failed: 404');
    await expect(bobs.archiveThread(id('one'))).rejects.toThrow('Request failed: 404');
    await expect(bobs.deleteThread(id('one'))).rejects.toThrow('Request failed: 404');
    await expect(bobs.deleteThread(id('never-existed'))).rejects.toThrow('Request failed: 404');
    const peek = await send(`${rt.url}/threads/${encodeURIComponent(id('one'))}/messages`, { method: 'GET', headers: bob });
    const missing = await send(`${rt.url}/threads/${encodeURIComponent(id('never-existed'))}/messages`, { method: 'GET', headers: bob });
    expect([peek.status, JSON.parse(peek.text).error]).toEqual([missing.status, JSON.parse(missing.text).error]);
    for (const route of ['events', 'state']) {
      const reply = await send(`${rt.url}/threads/${encodeURIComponent(id('one'))}/${route}`, { method: 'GET', headers: bob });
      expect([reply.status, JSON.parse(reply.text).error]).toEqual([404, 'Thread not found']);
    }
    expect(names(await threadStore(bob))).toEqual([[id('bobs'), null, false]]);
    // And nobody without credentials: 401, as every v2 route.
    const anonymous = await send(`${rt.url}/threads?agentId=default`, { method: 'GET' });
    expect([anonymous.status, JSON.parse(anonymous.text).error]).toEqual([401, 'unauthorized']);
    expect(names(await threadStore(alice))).toEqual([
      [id('two'), null, false],
      [id('one'), 'First things', false],
    ]);
  });
});

describe('thread routes: bad input', () => {
  let rt: RuntimeApp;
  const url = (path: string) => `${rt.url}${path}`;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    rt = await startRuntimeApp();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('answers precise errors, through both transports', async () => {
    const get = async (path: string) => {
      const reply = await send(url(path), { method: 'GET' });
      return [reply.status, JSON.parse(reply.text).error];
    };
    expect(await get('/threads')).toEqual([400, 'Valid agentId query param is required']);
    expect(await get('/threads?agentId=nobody')).toEqual([404, 'Agent not found']);
    expect(await get('/threads?agentId=default&limit=0')).toEqual([400, 'limit must be a whole number from 1 to 100; got "0".']);
    expect(await get('/threads?agentId=default&limit=many')).toEqual([400, 'limit must be a whole number from 1 to 100; got "many".']);
    expect(await get('/threads?agentId=default&limit=101')).toEqual([400, 'limit must be a whole number from 1 to 100; got "101".']);
    expect(await get('/threads?agentId=default&cursor=forged')).toEqual([
      400,
      'cursor "forged" is not one this runtime issued: pass a previous page\'s nextCursor.',
    ]);
    expect(await get('/threads?agentId=default&includeArchived=yes')).toEqual([400, 'includeArchived must be "true" or "false"; got "yes".']);
    expect(await get('/threads?agentId=default')).toEqual([200, undefined]);

    const patch = async (body: string) => {
      const reply = await send(url('/threads/t-1'), { method: 'PATCH', body, headers: json });
      return [reply.status, JSON.parse(reply.text).error];
    };
    expect(await patch('{"name":"x"}')).toEqual([400, 'Valid agentId is required']);
    expect(await patch('{not json')).toEqual([400, 'Invalid request body']);
    expect(await patch('{"agentId":"default"}')).toEqual([400, 'Nothing to update: give name and/or archived.']);
    expect(await patch('{"agentId":"default","archived":"yes"}')).toEqual([400, 'archived must be a boolean.']);
    expect(await patch('{"agentId":"default","name":"x"}')).toEqual([404, 'Thread not found']);
    const wrongMethod = await send(url('/threads/t-1'), { method: 'POST', body: '{}', headers: json });
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'PATCH, DELETE']);

    const envelope = async (params: Record<string, unknown>, body?: unknown) => {
      const reply = await send(rt.url, { body: JSON.stringify({ method: 'resource/request', params, body }), headers: json });
      return [reply.status, JSON.parse(reply.text)];
    };
    expect(await envelope({ path: '/threads?agentId=default', httpMethod: 'GET' })).toEqual([200, { threads: [], nextCursor: null }]);
    expect(await envelope({ path: '/info', httpMethod: 'GET' })).toEqual([404, { error: 'Not found' }]);
    expect(await envelope({ path: '/threads/t-1', httpMethod: 'DELETE' }, { agentId: 'default' })).toEqual([
      404,
      expect.objectContaining({ error: 'Thread not found', code: 'THREAD_NOT_FOUND' }),
    ]);
    expect(await envelope({ httpMethod: 'GET' })).toEqual([400, { error: 'invalid_request', message: "Missing or invalid parameter 'path'" }]);
  });
});
