import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { UnhandledRejectionGuard } from '../../../src/observability/process-faults.js';

/** A logger whose `error` calls are recorded, and awaitable: `next()` resolves at the next one. */
function recordingLogger(): LoggerService & { errors: unknown[][]; next(): Promise<unknown[]> } {
  const errors: unknown[][] = [];
  let waiting: ((args: unknown[]) => void) | null = null;
  return {
    errors,
    next: () => new Promise((resolve) => (waiting = resolve)),
    error(...args: unknown[]) {
      errors.push(args);
      waiting?.(args);
      waiting = null;
    },
    log() {},
    warn() {},
  };
}

describe('UnhandledRejectionGuard', () => {
  let guard: UnhandledRejectionGuard | undefined;

  afterEach(() => {
    guard?.uninstall();
    guard = undefined;
    jest.restoreAllMocks();
  });

  it('logs a rejection nobody handles as an error with an errorId, counts it, and keeps the process alive', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const logger = recordingLogger();
    const counter = { inc: jest.fn() };
    guard = new UnhandledRejectionGuard(logger).install().countWith(counter);

    const logged = logger.next();
    // A real rejected promise left unobserved, as a library's would be: Node reports it to the process.
    void Promise.reject(new TypeError('Error reading from the stream'));
    const [message, stack] = await logged;

    expect(message).toMatch(/^\[err-[0-9a-f-]{36}\] Unhandled promise rejection \(the server keeps serving\): TypeError: Error reading from the stream$/);
    expect(stack).toEqual(expect.stringContaining('TypeError: Error reading from the stream'));
    expect(counter.inc).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
  });

  it('describes a reason that is not an Error', async () => {
    const logger = recordingLogger();
    guard = new UnhandledRejectionGuard(logger).install();
    const logged = logger.next();
    void Promise.reject({ code: 'E_STRAY', detail: 'not an Error' });
    const [message, ...rest] = await logged;
    expect(message).toMatch(/Unhandled promise rejection \(the server keeps serving\): \{ code: 'E_STRAY', detail: 'not an Error' \}$/);
    expect(rest).toEqual([]);
  });

  it('stops listening when uninstalled', () => {
    const source = new EventEmitter() as unknown as NodeJS.Process;
    const logger = recordingLogger();
    const own = new UnhandledRejectionGuard(logger, source).install();
    expect(source.listenerCount('unhandledRejection')).toBe(1);
    source.emit('unhandledRejection', new Error('first'), Promise.resolve());
    own.uninstall();
    expect(source.listenerCount('unhandledRejection')).toBe(0);
    expect(logger.errors).toHaveLength(1);
  });
});
