import { describe, expect, it, jest } from '@jest/globals';
import { REDIS_DISCONNECT_TIMEOUT_MS } from '../../src/common/redis-disconnect.js';
import { RedisProbe } from '../../src/health/redis-probe.js';
import { RedisLimitStore } from '../../src/limits/redis-limit-store.js';

/**
 * Stopping while Redis is down must not hold the process: ioredis's disconnect() arms a timer
 * (2 s by default) that only a socket 'close' still to come would clear, and a socket whose
 * connection was refused has closed already. Nothing listens on port 1 of the loopback.
 */
const DOWN = 'redis://127.0.0.1:1';

/** The timers longer than the runtime's disconnect timeout that `action` arms and leaves running (ref'd). */
async function longTimersArmedBy(action: () => Promise<void>): Promise<number[]> {
  const armed: Array<{ ms: number; timer: NodeJS.Timeout }> = [];
  const real = globalThis.setTimeout;
  const spy = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number, ...args: unknown[]) => {
    const timer = (real as unknown as (...a: unknown[]) => NodeJS.Timeout)(callback, ms, ...args);
    armed.push({ ms: ms ?? 0, timer });
    return timer;
  }) as unknown as typeof setTimeout);
  try {
    await action();
  } finally {
    spy.mockRestore();
  }
  const running = (timer: NodeJS.Timeout) => timer.hasRef() && !(timer as unknown as { _destroyed: boolean })._destroyed;
  return armed.filter(({ ms, timer }) => running(timer) && ms > REDIS_DISCONNECT_TIMEOUT_MS).map(({ ms }) => ms);
}

describe('Redis clients stop at once when Redis is down', () => {
  it('the readiness probe: a failed ping, then shutdown', async () => {
    const probe = new RedisProbe(DOWN);
    await expect(probe.ping()).rejects.toThrow();
    expect(await longTimersArmedBy(() => probe.onApplicationShutdown())).toEqual([]);
  });

  it('the limit store: refused connection, then close', async () => {
    const store = new RedisLimitStore({ url: DOWN });
    expect(await store.ready(200)).toBe(false);
    expect(await longTimersArmedBy(() => store.close())).toEqual([]);
  });
});
