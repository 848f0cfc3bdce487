import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { BasePath } from '../../src/http/base-path.js';
import { AgUiEndpoint, BasePathDispatchMiddleware, type UnreadableBody } from '../../src/http/base-path-dispatch.js';
import { JsonBodyReader } from '../../src/http/json-body.js';

const LIMIT = 64;

type Outcome =
  | { to: 'graphql' }
  | { to: 'agui-route'; remainder: string }
  | { to: 'agui-envelope'; body: unknown }
  | { to: 'agui-reject'; problem: UnreadableBody };

class RecordingAgUi extends AgUiEndpoint {
  constructor(private readonly record: (outcome: Outcome) => void) {
    super();
  }
  serveRoute(_req: IncomingMessage, _res: ServerResponse, remainder: string): void {
    this.record({ to: 'agui-route', remainder });
  }
  serveEnvelope(_req: IncomingMessage, _res: ServerResponse, body: unknown): void {
    this.record({ to: 'agui-envelope', body });
  }
  rejectBody(_req: IncomingMessage, _res: ServerResponse, problem: UnreadableBody): void {
    this.record({ to: 'agui-reject', problem });
  }
}

/** A request as Node hands it to Express: a readable body with its headers. */
function request(method: string, url: string, body?: string, headers: Record<string, string> = {}): IncomingMessage {
  const stream = Readable.from(body === undefined ? [] : [Buffer.from(body)]);
  const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  return Object.assign(stream, {
    method,
    url,
    originalUrl: url,
    headers: { 'content-type': 'application/json', ...length, ...headers },
  }) as unknown as IncomingMessage;
}

function dispatch(req: IncomingMessage, base = new BasePath({})): Promise<Outcome> {
  return new Promise((resolve) => {
    const middleware = new BasePathDispatchMiddleware(base, new JsonBodyReader(LIMIT), new RecordingAgUi(resolve));
    middleware.use(req, {} as ServerResponse, () => resolve({ to: 'graphql' }));
  });
}

describe('BasePathDispatchMiddleware: GraphQL or AG-UI', () => {
  it('sends everything under the base path to the AG-UI routes, except preflights', async () => {
    expect(await dispatch(request('GET', '/api/copilotkit/info'))).toEqual({ to: 'agui-route', remainder: '/info' });
    expect(await dispatch(request('POST', '/api/copilotkit/agent/a/run?x=1', '{}'))).toEqual({
      to: 'agui-route',
      remainder: '/agent/a/run',
    });
    expect(await dispatch(request('GET', '/api/copilotkit/nope'))).toEqual({ to: 'agui-route', remainder: '/nope' });
    expect(await dispatch(request('OPTIONS', '/api/copilotkit/info'))).toEqual({ to: 'graphql' });
  });

  it('sends GraphQL bodies and every non-POST on the base path itself to GraphQL', async () => {
    expect(await dispatch(request('POST', '/api/copilotkit', '{"query":"{ hello }"}'))).toEqual({ to: 'graphql' });
    expect(await dispatch(request('POST', '/api/copilotkit/', '[1,2]'))).toEqual({ to: 'graphql' });
    // An envelope-looking body with a query is GraphQL's (a GraphQL request never has `method`, an envelope never has `query`).
    expect(await dispatch(request('POST', '/api/copilotkit', '{"method":"info","query":"{ hello }"}'))).toEqual({
      to: 'graphql',
    });
    expect(await dispatch(request('GET', '/api/copilotkit?query=%7B%20hello%20%7D'))).toEqual({ to: 'graphql' });
    expect(await dispatch(request('PUT', '/api/copilotkit', '{}'))).toEqual({ to: 'graphql' });
  });

  it('sends the single-route envelope to AG-UI, at the base path with or without a trailing slash', async () => {
    expect(await dispatch(request('POST', '/api/copilotkit', '{"method":"info"}'))).toEqual({
      to: 'agui-envelope',
      body: { method: 'info' },
    });
    const custom = new BasePath({ path: '/runtime/' });
    expect(await dispatch(request('POST', '/runtime/', '{"method":"info"}'), custom)).toEqual({
      to: 'agui-envelope',
      body: { method: 'info' },
    });
  });

  it("answers an unreadable body in AG-UI's shape unless a GraphQL client sent it", async () => {
    const large = JSON.stringify({ method: 'agent/run', body: 'x'.repeat(LIMIT) });
    expect(await dispatch(request('POST', '/api/copilotkit', large))).toEqual({
      to: 'agui-reject',
      problem: { kind: 'too_large', limit: LIMIT },
    });
    expect(await dispatch(request('POST', '/api/copilotkit', '{"method":'))).toEqual({
      to: 'agui-reject',
      problem: { kind: 'invalid_json', limit: LIMIT },
    });
    const fromV1Client = { 'x-copilotkit-runtime-client-gql-version': '1.74.0' };
    expect(await dispatch(request('POST', '/api/copilotkit', large, fromV1Client))).toEqual({ to: 'graphql' });
    const fromGraphQLClient = { accept: 'multipart/mixed, application/graphql-response+json' };
    expect(await dispatch(request('POST', '/api/copilotkit', '{"query":', fromGraphQLClient))).toEqual({ to: 'graphql' });
  });

  it('reads a body once: GraphQL gets the outcome the dispatch saw', async () => {
    const reader = new JsonBodyReader(LIMIT);
    const req = request('POST', '/api/copilotkit', '{"query":"{ hello }"}');
    const first = await reader.read(req, {} as ServerResponse);
    expect(await reader.read(req, {} as ServerResponse)).toBe(first);
    expect(first).toEqual({ ok: true, body: { query: '{ hello }' } });
  });
});
