import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '../common/redis-disconnect.js';

export const REDIS_PROBE_URL = Symbol('REDIS_PROBE_URL');

/**
 * Pings the Redis the runtime is configured with (REDIS_URL), for readiness. Its own connection,
 * opened at the first probe; no offline queue, so a Redis that is down fails the probe at once
 * instead of queueing the PING until it is back.
 */
@Injectable()
export class RedisProbe implements OnApplicationShutdown {
  private client: Redis | null = null;

  constructor(private readonly url: string) {}

  async ping(): Promise<void> {
    this.client ??= this.open();
    if (this.client.status === 'wait') await this.client.connect();
    const answer = await this.client.ping();
    if (answer !== 'PONG') throw new Error(`Redis answered ${answer} to PING`);
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) client.disconnect();
  }

  private open(): Redis {
    const client = new Redis(this.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      // Shutdown with Redis down must not keep the process alive (see the constant).
      disconnectTimeout: REDIS_DISCONNECT_TIMEOUT_MS,
      // Reconnects in the background; each probe answers from the current state.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    // Errors surface through ping(); without a listener ioredis would print each reconnect failure.
    client.on('error', () => undefined);
    return client;
  }
}
