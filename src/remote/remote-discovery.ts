import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, systemClock } from '../common/clock.js';
import type { RemoteCallContext, RemoteEndpoint } from './remote-endpoint-config.js';
import { RemoteHttpClient } from './remote-http-client.js';
import { parseRemoteInfo, type RemoteInfo } from './remote-info.js';
import { REMOTE_ENDPOINTS } from './remote-endpoints.token.js';

/** One endpoint's answer to `/info`. */
export interface DiscoveredEndpoint {
  endpoint: RemoteEndpoint;
  info: RemoteInfo;
}

/** Attempts of one `/info` call (at most; the endpoint's retry options are used below it). */
const DISCOVERY_ATTEMPTS = 2;

interface CacheEntry {
  info?: RemoteInfo;
  /** Until when `info` is reused (success) or the endpoint is left out (failure). */
  until: number;
  /** The `/info` call in flight: concurrent callers share it. */
  pending?: Promise<void>;
  /** The last discovery failed (logged once, until it succeeds again). */
  failing: boolean;
}

/**
 * What each remote endpoint offers, from `POST {url}/info`, cached per endpoint: a success for
 * its `discoveryTtlMs`, a failure for its (shorter) `discoveryRetryMs`. Endpoints degrade one by
 * one: one that is down is left out (logged once) and asked again after its retry delay, the
 * others are served. Callers arriving while an endpoint is being asked share that one call.
 * Once an endpoint has answered, an expired answer is still served while it is asked again in
 * the background (a request never waits for a refresh); a failed refresh leaves it out.
 * Discovery retries at most once (DISCOVERY_ATTEMPTS): a request waiting for a first answer from
 * an endpoint that is down should not sit through the whole backoff of a call.
 *
 * The cache is per endpoint, not per caller: the headers and properties of the request that
 * triggers a discovery are the ones sent with it, so `/info` must not depend on who asks.
 */
@Injectable()
export class RemoteDiscovery {
  private readonly logger = new Logger('RemoteEndpoints');
  private readonly entries = new Map<RemoteEndpoint, CacheEntry>();
  private readonly clock: Clock;

  constructor(
    @Inject(REMOTE_ENDPOINTS) private readonly endpoints: RemoteEndpoint[],
    private readonly http: RemoteHttpClient,
    @Optional() clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
  }

  /** Every endpoint that currently answers, with what it offers, in configuration order. */
  async discover(ctx: RemoteCallContext): Promise<DiscoveredEndpoint[]> {
    const found = await Promise.all(this.endpoints.map((endpoint) => this.infoOf(endpoint, ctx)));
    return found.flatMap((info, index) => (info ? [{ endpoint: this.endpoints[index], info }] : []));
  }

  /** Resolves once no `/info` call is in flight (background refreshes included). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const pending = [...this.entries.values()].flatMap((entry) => (entry.pending ? [entry.pending] : []));
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Forgets every answer: the next discovery asks each endpoint again. */
  invalidate(): void {
    this.entries.clear();
  }

  private async infoOf(endpoint: RemoteEndpoint, ctx: RemoteCallContext): Promise<RemoteInfo | undefined> {
    let entry = this.entries.get(endpoint);
    if (!entry) {
      entry = { until: 0, failing: false };
      this.entries.set(endpoint, entry);
    }
    if (!entry.pending && this.clock.now() >= entry.until) entry.pending = this.refresh(endpoint, entry, ctx);
    // An answer that is only stale is served while the refresh runs; none yet: wait for it.
    if (entry.pending && entry.info === undefined) await entry.pending;
    return entry.info;
  }

  private async refresh(endpoint: RemoteEndpoint, entry: CacheEntry, ctx: RemoteCallContext): Promise<void> {
    try {
      const once = { ...endpoint, retry: { ...endpoint.retry, maxAttempts: Math.min(endpoint.retry.maxAttempts, DISCOVERY_ATTEMPTS) } };
      const answer = await this.http.postJson(once, '/info', { properties: ctx.properties }, ctx);
      const parsed = parseRemoteInfo(answer);
      if ('error' in parsed) throw new Error(`${endpoint.label}/info sent an invalid answer: ${parsed.error}`);
      for (const problem of parsed.problems) this.logger.warn(`Remote endpoint ${endpoint.label}/info: ${problem}; skipped.`);
      entry.info = parsed.info;
      entry.until = this.clock.now() + endpoint.discoveryTtlMs;
      if (entry.failing) this.logger.log(`Remote endpoint ${endpoint.label} answers again.`);
      entry.failing = false;
      this.logger.debug?.(
        `Remote endpoint ${endpoint.label}: actions ${names(parsed.info.actions)}; agents ${names(parsed.info.agents)}.`,
      );
    } catch (error) {
      entry.info = undefined;
      entry.until = this.clock.now() + endpoint.discoveryRetryMs;
      if (!entry.failing) {
        this.logger.warn(
          `Remote endpoint ${endpoint.label} is left out (its actions and agents are not offered) until it answers; ` +
            `next try in ${endpoint.discoveryRetryMs} ms: ${(error as Error).message}`,
        );
      }
      entry.failing = true;
    } finally {
      entry.pending = undefined;
    }
  }
}

function names(list: Array<{ name: string }>): string {
  return list.length ? list.map((item) => item.name).join(', ') : 'none';
}
