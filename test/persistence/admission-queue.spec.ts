import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { InvalidEnvironmentError, parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { AdmissionQueue, admissionConcurrency } from '../../src/persistence/admission-queue.js';

/** A deferred admission: resolves when the test says. */
function pending<T>(value: T) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { release, admit: async () => (await released, value) };
}

describe('AdmissionQueue (run admissions when the pool is busy)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('admits at most half the pool at once, at least one', () => {
    expect(admissionConcurrency(1)).toBe(1);
    expect(admissionConcurrency(2)).toBe(1);
    expect(admissionConcurrency(10)).toBe(5);
  });

  it('queues admissions past its concurrency and serves them first come, first served', async () => {
    const queue = new AdmissionQueue({ concurrency: 1, maxQueued: 10, maxWaitMs: 1_000 });
    const first = pending('first');
    const order: string[] = [];
    const running = queue.run(first.admit).then((v) => order.push(v));
    const later = ['second', 'third', 'fourth'].map((name) => queue.run(async () => name).then((v) => order.push(v)));
    expect(queue.queued).toBe(3);
    await jest.advanceTimersByTimeAsync(500);
    expect(order).toEqual([]);
    first.release();
    await Promise.all([running, ...later]);
    expect(order).toEqual(['first', 'second', 'third', 'fourth']);
    expect(queue.queued).toBe(0);
  });

  it('refuses OVERLOADED (retryable) at once past its length, and after its wait', async () => {
    const queue = new AdmissionQueue({ concurrency: 1, maxQueued: 2, maxWaitMs: 1_000 });
    const first = pending('first');
    const running = queue.run(first.admit);
    const waiting = [queue.run(async () => 'a'), queue.run(async () => 'b')];
    const settled = waiting.map((p) => p.catch((error: unknown) => error));
    const overflow = await queue.run(async () => 'c').catch((error: unknown) => error);
    expect(overflow).toBeInstanceOf(CopilotRuntimeError);
    expect(overflow).toMatchObject({ code: 'OVERLOADED', retryAfter: 2 });
    await jest.advanceTimersByTimeAsync(999);
    expect(queue.queued).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    for (const result of await Promise.all(settled)) {
      expect(result).toMatchObject({ code: 'OVERLOADED', message: 'The server is at capacity; try again in 2 s.' });
    }
    expect(queue.queued).toBe(0);
    // The turn still passes on once the running admission ends.
    first.release();
    expect(await running).toBe('first');
    expect(await queue.run(async () => 'next')).toBe('next');
  });

  it('passes the turn on when an admission fails', async () => {
    const queue = new AdmissionQueue({ concurrency: 1, maxQueued: 5, maxWaitMs: 1_000 });
    const failing = queue.run(async () => {
      throw new Error('boom');
    });
    const next = queue.run(async () => 'next');
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe('next');
  });

  it('is configured by DATABASE_ADMISSION_QUEUE_LENGTH and DATABASE_ADMISSION_WAIT_MS (checked)', () => {
    expect(optionsFromEnvironment(parseEnvironment({})).database).toMatchObject({
      admissionQueueLength: 1_000,
      admissionWaitMs: 10_000,
    });
    const env = parseEnvironment({ DATABASE_ADMISSION_QUEUE_LENGTH: '50', DATABASE_ADMISSION_WAIT_MS: '2500' });
    expect(optionsFromEnvironment(env).database).toMatchObject({ admissionQueueLength: 50, admissionWaitMs: 2_500 });
    for (const name of ['DATABASE_ADMISSION_QUEUE_LENGTH', 'DATABASE_ADMISSION_WAIT_MS']) {
      expect(() => parseEnvironment({ [name]: '0' })).toThrow(InvalidEnvironmentError);
    }
  });
});
