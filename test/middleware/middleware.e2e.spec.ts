import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CopilotMiddleware,
  CopilotRuntimeError,
  RequestRejectedError,
  type CopilotRequestMiddleware,
  type MiddlewareOutcome,
  type MiddlewareRequest,
  type UpstreamMessage,
} from '../../src/index.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import {
  chatInput,
  clientRequestBody,
  clientRequestHeaders,
  eventually,
  messagesOf,
  streamResponse,
  textOf,
} from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, parseSse, postJson, runInput, types, userMessage } from '../v2/support/v2-client.js';

const TIMEOUT_MS = 300;

/** What the decorated middleware does next; each test sets it. */
type Mode = 'pass' | 'reject' | 'throw' | 'hang' | 'break-properties';

/** A user's middleware provider: records every hook, behaves as `mode` says. */
@Injectable()
@CopilotMiddleware()
class RecordingMiddleware implements CopilotRequestMiddleware {
  readonly name = 'recording';
  mode: Mode = 'pass';
  afterMode: 'pass' | 'throw' | 'reject' | 'hang' = 'pass';
  readonly before: MiddlewareRequest[] = [];
  readonly after: MiddlewareOutcome[] = [];
  readonly stops: MiddlewareOutcome[] = [];
  readonly errors: MiddlewareOutcome[] = [];

  async beforeRequest(request: MiddlewareRequest): Promise<void> {
    this.before.push(request);
    order.push(`decorated:before:${request.runId}`);
    switch (this.mode) {
      case 'reject':
        throw new RequestRejectedError(403, 'Blocked by the acme policy.');
      case 'throw':
        throw new Error('the policy service crashed');
      case 'hang':
        await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve()));
        return;
      case 'break-properties':
        (request as { properties: unknown }).properties = 'not an object';
        return;
      default:
        request.properties = { ...request.properties, tenant: 'acme' };
        request.context.push({ description: 'Tenant', value: 'acme' });
    }
  }

  async afterRequest(outcome: MiddlewareOutcome): Promise<void> {
    order.push(`decorated:after:${outcome.runId}`);
    this.after.push(outcome);
    await this.misbehave('after');
  }

  async onStop(outcome: MiddlewareOutcome): Promise<void> {
    this.stops.push(outcome);
    await this.misbehave('stop');
  }

  async onError(outcome: MiddlewareOutcome): Promise<void> {
    this.errors.push(outcome);
    await this.misbehave('error');
  }

  /** After, stop and error hooks misbehave alike, as `afterMode` says. */
  private async misbehave(hook: string): Promise<void> {
    if (this.afterMode === 'throw') throw new Error(`${hook} hook exploded`);
    if (this.afterMode === 'reject') await Promise.reject(new Error(`${hook} hook rejected`));
    if (this.afterMode === 'hang') await new Promise(() => undefined);
  }
}

@Module({ providers: [RecordingMiddleware] })
class UserMiddlewareModule {}

const order: string[] = [];
const upstreamV1: { before: any[]; after: any[]; stops: any[] } = { before: [], after: [], stops: [] };
const upstreamV2: { before: Request[]; after: any[] } = { before: [], after: [] };
const seenByAction: unknown[] = [];

describe('middleware: decorated providers and upstream-named options, on v1 HTTP, graphql-ws and v2', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let mw: RecordingMiddleware;
  let client: CopilotRuntimeClient;
  let ws: WsClient;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    llm = await startAimock();
    llm.mock.onMessage('who am i', { toolCalls: [{ id: 'call-who', name: 'whoAmI', arguments: {} }] });
    llm.mock.onMessage('please fail', { error: { message: 'upstream exploded', type: 'server_error' }, status: 500 });
    llm.mock.onMessage('a long story', { content: 'Once upon a time, '.repeat(20) }, { chunkSize: 4, latency: 100, disconnectAfterMs: 2000 });
    llm.mock.onMessage('hello', { content: 'Hi there!' });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      imports: [UserMiddlewareModule],
      options: {
        middlewareTimeoutMs: TIMEOUT_MS,
        actions: [
          {
            name: 'whoAmI',
            description: 'Who is asking',
            handler: (_args, context) => {
              seenByAction.push(context.properties);
              return context.properties;
            },
          },
        ],
        middleware: {
          onBeforeRequest: (options) => {
            order.push(`v1:before:${options.runId}`);
            upstreamV1.before.push({ ...options, properties: { ...options.properties } });
            options.properties.fromUpstreamV1 = true;
          },
          onAfterRequest: async (options) => {
            order.push(`v1:after:${options.runId}`);
            upstreamV1.after.push(options);
            // Upstream 1.10 crashed Node 20 on this: an async rejection in onAfterRequest.
            throw new Error('onAfterRequest rejects');
          },
          onStopGeneration: (options) => void upstreamV1.stops.push(options),
        },
        beforeRequestMiddleware: async ({ request }) => {
          order.push(`v2:before`);
          upstreamV2.before.push(request);
          if (request.headers.get('x-block') === 'yes') {
            throw new Response(JSON.stringify({ error: 'rate_limited', retryAfter: 7 }), {
              status: 429,
              headers: { 'content-type': 'application/json' },
            });
          }
          const headers = new Headers(request.headers);
          headers.set('x-tenant', 'acme');
          return new Request(request, { headers });
        },
        afterRequestMiddleware: (options) => {
          order.push(`v2:after:${options.runId}`);
          upstreamV2.after.push(options);
        },
      },
    });
    mw = rt.app.get(RecordingMiddleware);
    client = new CopilotRuntimeClient({ url: rt.url });
    ws = createClient({ url: rt.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await ws?.dispose();
    await rt?.close();
    await llm?.stop();
  });

  const user = (id: string, content: string) => new TextMessage({ id, role: Role.User, content });
  const rawV1 = async (threadId: string, content: string) => {
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: clientRequestHeaders('application/json'),
      body: clientRequestBody(chatInput({ threadId, messages: [user(`u-${threadId}`, content)] })),
    });
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ message: string; extensions: any }> } };
  };
  const afterFor = (runId: string) => waitFor(() => mw.after.find((outcome) => outcome.runId === runId) ?? false);

  it('runs every middleware in the documented order; before may change properties and context, and a server action sees them', async () => {
    mw.mode = 'pass';
    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'mw-props', messages: [user('u-props', 'who am i')] }),
      properties: { fromClient: 1 },
    });
    const runId = final.runId!;
    const result = messagesOf(final).find((m) => m.__typename === 'ResultMessageOutput');
    expect(JSON.parse(result!.result)).toEqual({ fromClient: 1, fromUpstreamV1: true, tenant: 'acme' });
    expect(seenByAction.at(-1)).toEqual({ fromClient: 1, fromUpstreamV1: true, tenant: 'acme' });

    // Options first (v1 `middleware`, then v2's pair), then the decorated providers; after hooks the same way.
    await afterFor(runId);
    await waitFor(() => order.includes(`v2:after:${runId}`));
    expect(order.filter((entry) => entry.endsWith(runId) || entry === 'v2:before').slice(-6)).toEqual([
      `v1:before:${runId}`,
      'v2:before',
      `decorated:before:${runId}`,
      `v1:after:${runId}`,
      `v2:after:${runId}`,
      `decorated:after:${runId}`,
    ]);

    // Upstream's v1 argument shapes (middleware.jsonl).
    const before = upstreamV1.before.at(-1);
    expect(before).toMatchObject({ threadId: 'mw-props', runId, url: 'http://localhost:3000/page', properties: { fromClient: 1 } });
    expect(before.inputMessages).toEqual([
      { id: 'u-props', createdAt: expect.any(Date), type: 'TextMessage', content: 'who am i', role: 'user' },
    ]);
    const after = upstreamV1.after.find((entry) => entry.runId === runId);
    expect(after.outputMessages.map((m: UpstreamMessage) => m.type)).toEqual(['ActionExecutionMessage', 'ResultMessage']);
    expect(after.outputMessages[0]).toMatchObject({ name: 'whoAmI', arguments: '{}' });

    // The decorated middleware saw the whole request context.
    const request = mw.before.find((entry) => entry.runId === runId)!;
    expect(request).toMatchObject({ protocol: 'v1', agentId: 'default', threadId: 'mw-props', identity: { id: 'anonymous' } });
    expect(request.headers['x-copilotkit-runtime-client-gql-version']).toEqual(expect.any(String));
  });

  it('v2: a returned Request changes the forwarded headers; the context item reaches the model', async () => {
    mw.mode = 'pass';
    const reply = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: 'mw-v2-ok', runId: 'mw-v2-ok-r1', messages: [userMessage('u1', 'hello')] }));
    expect(reply.status).toBe(200);
    expect(types(parseSse(reply.text).events).at(-1)).toBe('RUN_FINISHED');
    const request = mw.before.find((entry) => entry.runId === 'mw-v2-ok-r1')!;
    expect(request.protocol).toBe('v2');
    expect(request.forwardedHeaders['x-tenant']).toBe('acme');
    const modelSaw = JSON.stringify(llm.chatRequests().at(-1)!.messages);
    expect(modelSaw).toContain('Tenant: acme');
    expect(upstreamV2.before.at(-1)!.url).toBe(`${rt.url}/agent/default/run`);
  });

  it('before refuses: v1 gets a GraphQL error with its code (HTTP 200), graphql-ws an error message, v2 the status and JSON body; nothing is stored, no model call', async () => {
    mw.mode = 'reject';
    const modelCalls = llm.chatRequests().length;

    const { error } = await streamResponse(client, { data: chatInput({ threadId: 'mw-reject-v1', messages: [user('u1', 'hello')] }) });
    expect(String(error)).toContain('Blocked by the acme policy.');
    const raw = await rawV1('mw-reject-v1b', 'hello');
    expect(raw.status).toBe(200);
    expect(raw.body.errors![0]).toMatchObject({
      message: 'Blocked by the acme policy.',
      extensions: { code: 'REQUEST_REJECTED', statusCode: 403, errorId: expect.any(String) },
    });

    const wsErrors: unknown[] = [];
    await new Promise<void>((resolve) =>
      ws.subscribe(
        {
          query: 'subscription($data: GenerateCopilotResponseInput!) { copilotEvents(data: $data) { type } }',
          variables: { data: chatInput({ threadId: 'mw-reject-ws', messages: [user('u1', 'hello')] }) },
        },
        { next: (value) => void wsErrors.push(...(value.errors ?? [])), error: (e) => (wsErrors.push(e), resolve()), complete: resolve },
      ),
    );
    expect(wsErrors).toEqual([expect.objectContaining({ message: 'Blocked by the acme policy.', extensions: expect.objectContaining({ code: 'REQUEST_REJECTED' }) })]);

    const v2 = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: 'mw-reject-v2', runId: 'r1', messages: [userMessage('u1', 'hello')] }));
    expect(v2.status).toBe(403);
    expect(JSON.parse(v2.text)).toMatchObject({ code: 'REQUEST_REJECTED', message: 'Blocked by the acme policy.', errorId: expect.any(String) });

    // Upstream v2 style: `throw new Response(...)` answers with that response as it is.
    mw.mode = 'pass';
    const blocked = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({ threadId: 'mw-reject-v2b', runId: 'r1', messages: [userMessage('u1', 'hello')] }),
      { 'x-block': 'yes' },
    );
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.text)).toEqual({ error: 'rate_limited', retryAfter: 7 });

    expect(llm.chatRequests()).toHaveLength(modelCalls);
    const store = rt.app.get(ConversationStore);
    await rt.persisted();
    for (const threadId of ['mw-reject-v1', 'mw-reject-v1b', 'mw-reject-ws', 'mw-reject-v2', 'mw-reject-v2b']) {
      expect(await store.findThread(threadId)).toBeNull();
    }
  });

  it('a refused request leaves an existing thread exactly as it was', async () => {
    mw.mode = 'pass';
    await streamResponse(client, { data: chatInput({ threadId: 'mw-existing', messages: [user('u1', 'hello')] }) });
    const store = rt.app.get(ConversationStore);
    await rt.persisted();
    const messages = await store.listMessages('mw-existing');
    const thread = await store.findThread('mw-existing');
    expect(messages).toHaveLength(2);

    mw.mode = 'reject';
    const { error } = await streamResponse(client, {
      data: chatInput({ threadId: 'mw-existing', messages: [user('u1', 'hello'), new TextMessage({ id: 'a1', role: Role.Assistant, content: 'Hi there!' }), user('u2', 'hello again')] }),
    });
    expect(String(error)).toContain('Blocked by the acme policy.');
    await rt.persisted();
    expect(await store.listMessages('mw-existing')).toEqual(messages);
    expect(await store.findThread('mw-existing')).toEqual(thread);
    mw.mode = 'pass';
  });

  it('a throwing, hanging or misbehaving before hook refuses the request with MIDDLEWARE_FAILED and an errorId (fail closed); the process keeps serving', async () => {
    for (const mode of ['throw', 'hang', 'break-properties'] as const) {
      mw.mode = mode;
      const raw = await rawV1(`mw-fail-${mode}`, 'hello');
      const failure = raw.body.errors![0]!;
      expect(failure.extensions).toMatchObject({ code: 'MIDDLEWARE_FAILED', errorId: expect.any(String) });
      expect(failure.message).toContain(failure.extensions.errorId);
      if (mode === 'hang') expect(failure.message).toContain(`did not answer within ${TIMEOUT_MS} ms`);
      const v2 = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: `mw-fail-v2-${mode}`, runId: 'r1', messages: [userMessage('u1', 'hello')] }));
      expect(v2.status).toBe(500);
      expect(JSON.parse(v2.text)).toMatchObject({ code: 'MIDDLEWARE_FAILED' });
    }
    mw.mode = 'pass';
    const { final } = await streamResponse(client, { data: chatInput({ threadId: 'mw-after-fail', messages: [user('u1', 'hello')] }) });
    expect(textOf(final.messages[0])).toBe('Hi there!');
  });

  it('after sees output messages and usage on success, and the failure on a failed run (error hook)', async () => {
    mw.mode = 'pass';
    const ok = await streamResponse(client, { data: chatInput({ threadId: 'mw-after-ok', messages: [user('u1', 'hello')] }) });
    const success = await afterFor(ok.final.runId!);
    expect(success).toMatchObject({ status: 'succeeded', error: null, threadId: 'mw-after-ok' });
    expect(success.outputMessages).toEqual([expect.objectContaining({ role: 'assistant', content: 'Hi there!' })]);
    expect(success.usage).toEqual(expect.objectContaining({ totalTokens: expect.any(Number) }));
    expect(success.durationMs).toBeGreaterThanOrEqual(0);

    const bad = await streamResponse(client, { data: chatInput({ threadId: 'mw-after-fail-run', messages: [user('u1', 'please fail')] }) });
    const failed = await afterFor(bad.final.runId!);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'NETWORK_ERROR' } });
    expect(mw.errors.map((outcome) => outcome.runId)).toContain(bad.final.runId);
  });

  it('after and stop hooks hear a run stopped through /stop (v2) and one whose v1 client went away', async () => {
    mw.mode = 'pass';
    const stream = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'mw-stop', runId: 'mw-stop-r1', messages: [userMessage('u1', 'a long story')] }));
    await stream.next('TEXT_MESSAGE_CONTENT');
    const stop = await postJson(`${rt.url}/agent/default/stop/mw-stop`, { runId: 'mw-stop-r1' });
    expect(JSON.parse(stop.text)).toMatchObject({ stopped: true });
    const stopped = await afterFor('mw-stop-r1');
    expect(stopped).toMatchObject({ status: 'stopped', stopReason: 'stop' });
    expect(stopped.outputMessages[0]).toMatchObject({ role: 'assistant', content: expect.stringContaining('Once') });
    await waitFor(() => mw.stops.some((outcome) => outcome.runId === 'mw-stop-r1'));
    await stream.done.catch(() => undefined);

    const controller = new AbortController();
    const gone = await streamResponse(
      client,
      { data: chatInput({ threadId: 'mw-gone', messages: [user('u1', 'a long story')] }), signal: controller.signal },
      (snapshot) => {
        if (textOf(snapshot.response.messages[0]).length === 0) return;
        controller.abort();
        return 'stop';
      },
    );
    const runId = gone.snapshots[0]!.response.runId!;
    const left = await afterFor(runId);
    expect(left).toMatchObject({ status: 'stopped', stopReason: 'caller_gone' });
    expect(left.outputMessages[0]).toMatchObject({ role: 'assistant' });
    // Upstream's onStopGeneration shape.
    const upstreamStop = await waitFor(() => upstreamV1.stops.find((entry) => entry.runId === runId) ?? false);
    expect(upstreamStop).toMatchObject({ threadId: 'mw-gone', agentName: 'default', url: 'http://localhost:3000/page' });
    expect(upstreamStop.lastMessage).toMatchObject({ type: 'TextMessage', content: 'a long story', role: 'user' });
  });

  it('after, stop and error hooks that throw, reject or hang never delay the stream, are logged and swallowed: no unhandled rejection, the process keeps serving', async () => {
    mw.mode = 'pass';
    for (const afterMode of ['throw', 'reject', 'hang'] as const) {
      mw.afterMode = afterMode;
      const { final } = await streamResponse(client, { data: chatInput({ threadId: `mw-after-${afterMode}`, messages: [user('u1', 'hello')] }) });
      expect(textOf(final.messages[0])).toBe('Hi there!');
      expect(final.status).toMatchObject({ code: 'Success' });
      await afterFor(final.runId!);

      // A failed run: its error hook misbehaves too.
      const failed = await streamResponse(client, { data: chatInput({ threadId: `mw-error-${afterMode}`, messages: [user('u1', 'please fail')] }) });
      expect(failed.final.status).toMatchObject({ code: 'Failed' });
      await waitFor(() => mw.errors.some((outcome) => outcome.runId === failed.final.runId));

      // A stopped run (the client went away): its stop hook misbehaves too.
      const controller = new AbortController();
      const gone = await streamResponse(
        client,
        { data: chatInput({ threadId: `mw-stop-${afterMode}`, messages: [user('u1', 'a long story')] }), signal: controller.signal },
        (snapshot) => {
          if (textOf(snapshot.response.messages[0]).length === 0) return;
          controller.abort();
          return 'stop';
        },
      );
      const goneRunId = gone.snapshots[0]!.response.runId!;
      await waitFor(() => mw.stops.some((outcome) => outcome.runId === goneRunId));
    }
    mw.afterMode = 'pass';
    // The upstream v1 onAfterRequest rejected on every run so far, the hanging hook's timeout passed.
    const { final } = await streamResponse(client, { data: chatInput({ threadId: 'mw-after-all', messages: [user('u1', 'hello')] }) });
    await afterFor(final.runId!);
    await eventually(() => expect(upstreamV1.after.some((entry) => entry.runId === final.runId)).toBe(true));
    expect(unhandled).toEqual([]);
  });
});
