import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Clock } from '../../../src/common/clock.js';
import { RemoteDiscovery } from '../../../src/remote/remote-discovery.js';
import { resolveRemoteEndpoints } from '../../../src/remote/remote-endpoint-config.js';
import { RemoteHttpClient } from '../../../src/remote/remote-http-client.js';
import { eventually } from '../../support/copilot-client.js';
import { startRemoteEndpoint, type RemoteEndpointServer } from '../../support/remote-endpoint-server.js';

/** Time that moves only when the test says so; sleeps (retry backoffs) return at once. */
class ManualClock extends Clock {
  time = 1_000_000;
  now(): number {
    return this.time;
  }
  async sleep(): Promise<void> {}
}

const ctx = { properties: {} };

describe('RemoteDiscovery (cache per endpoint, degradation per endpoint)', () => {
  let up: RemoteEndpointServer;
  let other: RemoteEndpointServer;
  let clock: ManualClock;
  let discovery: RemoteDiscovery;

  beforeAll(async () => {
    up = await startRemoteEndpoint();
    other = await startRemoteEndpoint({ basePath: '/other' });
    other.infoShape = 'object';
  });
  afterAll(async () => {
    await up?.close();
    await other?.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
    other.requests.length = 0;
    up.clearFaults();
    other.clearFaults();
    clock = new ManualClock();
    const endpoints = resolveRemoteEndpoints([
      { url: up.url, discoveryTtlMs: 10_000, discoveryRetryMs: 1_000, retry: { maxAttempts: 1 } },
      { url: other.url, discoveryTtlMs: 10_000, discoveryRetryMs: 1_000, retry: { maxAttempts: 1 } },
    ]);
    discovery = new RemoteDiscovery(endpoints, new RemoteHttpClient(clock), clock);
  });

  it('concurrent first requests share one /info call per endpoint; answers are reused for the TTL', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => discovery.discover(ctx)));
    expect(results.every((found) => found.length === 2)).toBe(true);
    expect([up.count('/info'), other.count('/info')]).toEqual([1, 1]);

    clock.time += 9_999;
    await discovery.discover(ctx);
    expect(up.count('/info')).toBe(1);

    // Expired: the stale answer is served at once while /info is asked again in the background.
    clock.time += 1;
    up.fail('/info', { kind: 'hang' });
    const stale = await discovery.discover(ctx);
    expect(stale.map(({ endpoint }) => endpoint.url)).toEqual([up.url, other.url]);
    await waitUntil(() => up.count('/info') === 2 && other.count('/info') === 2);
    up.clearFaults();
  });

  it('a failed refresh leaves the endpoint out until it answers again', async () => {
    await discovery.discover(ctx);
    clock.time += 10_000;
    up.fail('/info', { kind: 'status', status: 503 });
    const stale = await discovery.discover(ctx); // served stale; the refresh runs
    expect(stale).toHaveLength(2);
    await discovery.whenIdle();
    expect(up.count('/info')).toBe(2);
    const after = await discovery.discover(ctx);
    expect(after.map(({ endpoint }) => endpoint.url)).toEqual([other.url]);
  });

  it('both /info shapes give the same agent', async () => {
    const found = await discovery.discover(ctx);
    expect(found.map(({ info }) => info.agents)).toEqual([
      [{ name: 'remote_agent', description: expect.any(String), type: 'langgraph' }],
      [{ name: 'remote_agent', description: expect.any(String), type: 'langgraph' }],
    ]);
  });

  it('an endpoint that is down is left out alone, and asked again only after its retry delay', async () => {
    up.fail('/info', { kind: 'status', status: 503 });
    const first = await discovery.discover(ctx);
    expect(first.map(({ endpoint }) => endpoint.url)).toEqual([other.url]);

    // Within the retry delay: still left out, not asked.
    clock.time += 999;
    expect((await discovery.discover(ctx)).map(({ endpoint }) => endpoint.url)).toEqual([other.url]);
    expect(up.count('/info')).toBe(1);

    clock.time += 1;
    const later = await discovery.discover(ctx);
    expect(later.map(({ endpoint }) => endpoint.url)).toEqual([up.url, other.url]);
    expect(up.count('/info')).toBe(2);
    // The healthy endpoint was answered from the cache all along.
    expect(other.count('/info')).toBe(1);
  });

  it('a first /info waits through one retry at most (an endpoint configured for more)', async () => {
    const patient = new RemoteDiscovery(
      resolveRemoteEndpoints([{ url: up.url, retry: { maxAttempts: 5 } }]),
      new RemoteHttpClient(clock),
      clock,
    );
    up.fail('/info', ...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));
    expect(await patient.discover(ctx)).toEqual([]);
    expect(up.count('/info')).toBe(2);
  });

  it('an invalid /info answer counts as down', async () => {
    up.fail('/info', { kind: 'status', status: 200, body: '[1,2]' });
    expect((await discovery.discover(ctx)).map(({ endpoint }) => endpoint.url)).toEqual([other.url]);
  });
});

/** Polls `check` (a background refresh has no event to wait on); gives up with the test. */
function waitUntil(check: () => boolean): Promise<void> {
  return eventually(() => {
    if (!check()) throw new Error('not yet');
  }, 5_000);
}
