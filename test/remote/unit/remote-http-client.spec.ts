import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { Clock } from '../../../src/common/clock.js';
import { CopilotRuntimeError } from '../../../src/common/errors.js';
import { resolveRemoteEndpoints, type RemoteEndpointDefinition } from '../../../src/remote/remote-endpoint-config.js';
import { RemoteHttpClient, retryAfterMs } from '../../../src/remote/remote-http-client.js';
import { readJsonLines } from '../../../src/remote/json-lines.js';
import { startRemoteEndpoint, type RemoteEndpointServer } from '../../support/remote-endpoint-server.js';

/** A clock whose sleeps return at once and are recorded: the delays the client chose, not waited. */
class RecordingClock extends Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return Date.now();
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
}

const ctx = { properties: { userId: 'u-1' } };

describe('RemoteHttpClient (retries, timeouts, error codes)', () => {
  let remote: RemoteEndpointServer;
  let clock: RecordingClock;
  let client: RemoteHttpClient;

  const endpoint = (overrides: Partial<RemoteEndpointDefinition> = {}) =>
    resolveRemoteEndpoints([{ url: remote.url, headers: { authorization: 'Bearer secret-token' }, ...overrides }])[0];

  async function failure(promise: Promise<unknown>): Promise<CopilotRuntimeError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CopilotRuntimeError);
    return error as CopilotRuntimeError;
  }

  beforeAll(async () => {
    remote = await startRemoteEndpoint();
  });
  afterAll(async () => {
    await remote?.close();
  });
  afterEach(() => {
    remote.requests.length = 0;
  });
  beforeEach(() => {
    clock = new RecordingClock();
    client = new RemoteHttpClient(clock);
  });

  it('POSTs JSON with the endpoint headers and answers the parsed body', async () => {
    const answer = await client.postJson(endpoint(), '/info', { properties: ctx.properties }, ctx);
    expect(answer).toMatchObject({ agents: [{ name: 'remote_agent' }] });
    expect(remote.requests[0]).toMatchObject({
      path: '/info',
      body: { properties: { userId: 'u-1' } },
      headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' },
    });
  });

  it('computes headers per call from the call context (like onBeforeRequest)', async () => {
    const perCall = endpoint({ headers: (call) => ({ 'x-user': String(call.properties.userId), 'content-type': 'text/plain' }) });
    await client.postJson(perCall, '/info', {}, ctx);
    expect(remote.requests[0].headers['x-user']).toBe('u-1');
    // The protocol is JSON whatever a hook says.
    expect(remote.requests[0].headers['content-type']).toBe('application/json');
  });

  it('retries a 503 and succeeds on the next attempt, after the initial backoff', async () => {
    remote.fail('/info', { kind: 'status', status: 503 });
    await client.postJson(endpoint(), '/info', {}, ctx);
    expect(remote.count('/info')).toBe(2);
    expect(clock.sleeps).toEqual([1000]);
  });

  it('honours Retry-After on a 429 (waits at least what the endpoint asked), then succeeds', async () => {
    remote.fail('/info', { kind: 'status', status: 429, headers: { 'retry-after': '3' } });
    await client.postJson(endpoint(), '/info', {}, ctx);
    expect(remote.count('/info')).toBe(2);
    expect(clock.sleeps).toEqual([3000]);
  });

  it('backs off exponentially and gives up after maxAttempts with NETWORK_ERROR naming the endpoint', async () => {
    remote.fail('/info', ...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 502 })));
    const error = await failure(client.postJson(endpoint(), '/info', {}, ctx));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain(`${remote.url}/info answered 502`);
    expect(error.message).not.toContain('secret-token');
    expect(remote.count('/info')).toBe(4);
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it.each([
    [404, 'REMOTE_ENDPOINT_NOT_FOUND'],
    [401, 'AUTHENTICATION_ERROR'],
    [400, 'CONFIGURATION_ERROR'],
    [422, 'CONFIGURATION_ERROR'],
  ])('maps %i to %s without retrying', async (status, code) => {
    remote.fail('/actions/execute', { kind: 'status', status, body: '{"detail":"nope"}' });
    const error = await failure(client.postJson(endpoint(), '/actions/execute', { name: 'remoteLookup' }, ctx));
    expect(error.code).toBe(code);
    expect(error.message).toContain(`Remote endpoint ${remote.url}/actions/execute answered ${status}`);
    expect(remote.count('/actions/execute')).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up at once when Retry-After asks for longer than the endpoint timeout', async () => {
    remote.fail('/info', { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
    const error = await failure(client.postJson(endpoint(), '/info', {}, ctx));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(remote.count('/info')).toBe(1);
  });

  it('bounds a hang by the timeout: NETWORK_ERROR naming the endpoint, retried, then given up', async () => {
    remote.fail('/info', { kind: 'hang' }, { kind: 'hang' });
    const error = await failure(client.postJson(endpoint({ timeoutMs: 50, retry: { maxAttempts: 2 } }), '/info', {}, ctx));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toBe(`Remote endpoint ${remote.url}/info did not answer within 50 ms. Try again later.`);
    expect(remote.count('/info')).toBe(2);
  });

  it('retries connection errors, then reports NETWORK_ERROR with the socket error code', async () => {
    const port = await closedPort();
    const down = resolveRemoteEndpoints([{ url: `http://127.0.0.1:${port}/copilotkit`, retry: { maxAttempts: 3 } }])[0];
    const error = await failure(client.postJson(down, '/info', {}, ctx));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.message).toContain(`http://127.0.0.1:${port}/copilotkit/info could not be reached (ECONNREFUSED)`);
    expect(clock.sleeps).toEqual([1000, 2000]);
  });

  it('a failing headers hook is a CONFIGURATION_ERROR; nothing is sent', async () => {
    const broken = endpoint({
      headers: () => {
        throw new Error('no token for this user');
      },
    });
    const error = await failure(client.postJson(broken, '/info', {}, ctx));
    expect(error.code).toBe('CONFIGURATION_ERROR');
    expect(error.message).toContain('no token for this user');
    expect(remote.count('/info')).toBe(0);
  });

  it('a streamed answer: retried before it starts (503), never once it has started', async () => {
    remote.fail('/agents/execute', { kind: 'status', status: 503 }, { kind: 'drop-mid-stream' });
    const body = await client.openStream(endpoint(), '/agents/execute', { name: 'remote_agent', messages: [] }, ctx);
    await expect(async () => {
      for await (const _line of readJsonLines(body)) {
        // read until the connection drops
      }
    }).rejects.toThrow();
    expect(remote.count('/agents/execute')).toBe(2);
    expect(clock.sleeps).toEqual([1000]);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    remote.fail('/info', { kind: 'hang' });
    const controller = new AbortController();
    const pending = client.postJson(endpoint({ timeoutMs: 10_000 }), '/info', {}, ctx, controller.signal);
    await waitUntil(() => remote.count('/info') === 1);
    controller.abort(new Error('caller gone'));
    await expect(pending).rejects.toThrow('caller gone');
    expect(remote.count('/info')).toBe(1);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates; ignores what it cannot read', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs('0.5', 0)).toBe(500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}
