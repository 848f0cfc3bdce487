import { describe, expect, it } from '@jest/globals';
import { SystemClock } from '../../src/common/clock.js';
import { RetryPolicy } from '../../src/common/retry-policy.js';
import { SteppingClock } from './stepping-clock.js';

const retryable = (error: unknown) => (error as Error).message !== 'permanent';

function failing(times: number, message = 'connection lost') {
  let calls = 0;
  const operation = async () => {
    calls += 1;
    if (calls <= times) throw new Error(message);
    return 'ok';
  };
  return { operation, calls: () => calls };
}

describe('RetryPolicy', () => {
  it('backs off exponentially up to maxDelayMs, and succeeds once the operation does', async () => {
    const clock = new SteppingClock();
    const policy = new RetryPolicy({ initialDelayMs: 50, maxDelayMs: 300, maxOutageMs: 10_000 }, retryable, clock);
    const op = failing(5);
    expect(await policy.run(op.operation)).toBe('ok');
    expect(op.calls()).toBe(6);
    expect(clock.sleeps).toEqual([50, 100, 200, 300, 300]);
  });

  it('gives up with the last error once the outage budget is spent, the last wait cut to fit it', async () => {
    const clock = new SteppingClock();
    const policy = new RetryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, maxOutageMs: 1_000 }, retryable, clock);
    const op = failing(Infinity);
    await expect(policy.run(op.operation)).rejects.toThrow('connection lost');
    expect(clock.sleeps).toEqual([100, 200, 400, 300]);
    expect(clock.sleeps.reduce((a, b) => a + b)).toBe(1_000);
  });

  it('does not retry what the classifier calls permanent', async () => {
    const clock = new SteppingClock();
    const policy = new RetryPolicy({ initialDelayMs: 10, maxDelayMs: 10, maxOutageMs: 10_000 }, retryable, clock);
    const op = failing(Infinity, 'permanent');
    await expect(policy.run(op.operation)).rejects.toThrow('permanent');
    expect(op.calls()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('honours an attempt budget', async () => {
    const clock = new SteppingClock();
    const policy = new RetryPolicy({ initialDelayMs: 10, maxDelayMs: 10, maxOutageMs: 10_000, maxAttempts: 3 }, retryable, clock);
    const op = failing(Infinity);
    await expect(policy.run(op.operation)).rejects.toThrow();
    expect(op.calls()).toBe(3);
    expect(policy.with({ maxAttempts: 1 }).options.maxAttempts).toBe(1);
  });

  it('stops waiting and gives up once the signal aborts', async () => {
    const policy = new RetryPolicy({ initialDelayMs: 60_000, maxDelayMs: 60_000, maxOutageMs: 600_000 }, retryable, new SystemClock());
    const controller = new AbortController();
    const op = failing(Infinity);
    const running = policy.run(op.operation, { signal: controller.signal, onRetry: () => controller.abort() });
    await expect(running).rejects.toThrow('connection lost');
    expect(op.calls()).toBe(1);
  });

  it('reports retries, and a success ends the outage for loops that keep going', async () => {
    const clock = new SteppingClock();
    const policy = new RetryPolicy({ initialDelayMs: 10, maxDelayMs: 100, maxOutageMs: 50 }, retryable, clock);
    const attempts = policy.start();
    expect(attempts.nextDelay(new Error('x'))).toBe(10);
    clock.time += 40;
    expect(attempts.outageMs).toBe(40);
    expect(attempts.nextDelay(new Error('x'))).toBe(10);
    attempts.succeeded();
    expect(attempts.count).toBe(0);
    expect(attempts.nextDelay(new Error('x'))).toBe(10);
  });
});
