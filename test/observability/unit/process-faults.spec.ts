import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { UnhandledRejectionGuard } from '../../../src/observability/process-faults.js';

/**
 * The guard main.ts installs on the server process. Node reports a rejection nobody handles by
 * emitting `unhandledRejection` on the process, and ends the process only when nothing listens;
 * here a stand-in process receives the report (jest-circus listens on the real one, and fails the
 * test that leaves a rejection unhandled).
 */
function recordingLogger(): LoggerService & { errors: unknown[][] } {
  const errors: unknown[][] = [];
  return {
    errors,
    error: (...args: unknown[]) => void errors.push(args),
    log() {},
    warn() {},
  };
}

function standInProcess(): NodeJS.Process {
  return new EventEmitter() as unknown as NodeJS.Process;
}

describe('UnhandledRejectionGuard', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('logs a rejection nobody handled as an error with an errorId, counts it, and does not end the process', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const logger = recordingLogger();
    const counter = { inc: jest.fn() };
    const source = standInProcess();
    new UnhandledRejectionGuard(logger, source).install().countWith(counter);

    const reason = new TypeError('Error reading from the stream');
    const rejected = Promise.reject(reason);
    rejected.catch(() => undefined); // this test's own promise: only the report is simulated
    source.emit('unhandledRejection', reason, rejected);

    expect(logger.errors).toHaveLength(1);
    const [message, stack] = logger.errors[0]!;
    expect(message).toMatch(/^\[err-[0-9a-f-]{36}\] Unhandled promise rejection \(the server keeps serving\): TypeError: Error reading from the stream$/);
    expect(stack).toBe(reason.stack);
    expect(counter.inc).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
    // Two rejections, two errorIds: each one is its own report.
    source.emit('unhandledRejection', reason, rejected);
    expect(logger.errors[1]![0]).not.toBe(message);
    expect(counter.inc).toHaveBeenCalledTimes(2);
  });

  it('describes a reason that is not an Error, without a stack', () => {
    const logger = recordingLogger();
    const source = standInProcess();
    new UnhandledRejectionGuard(logger, source).install();
    source.emit('unhandledRejection', { code: 'E_STRAY', detail: 'not an Error' }, Promise.resolve());
    expect(logger.errors).toEqual([
      [expect.stringMatching(/Unhandled promise rejection \(the server keeps serving\): \{ code: 'E_STRAY', detail: 'not an Error' \}$/)],
    ]);
  });

  it('counts nothing before metrics exist, and stops listening when uninstalled', () => {
    const logger = recordingLogger();
    const source = standInProcess();
    const guard = new UnhandledRejectionGuard(logger, source).install();
    expect(source.listenerCount('unhandledRejection')).toBe(1);
    source.emit('unhandledRejection', new Error('before the app'), Promise.resolve());
    expect(logger.errors).toHaveLength(1);
    guard.uninstall();
    expect(source.listenerCount('unhandledRejection')).toBe(0);
  });
});
