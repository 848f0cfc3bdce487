import { CopilotRuntimeError } from '../common/errors.js';
import type { RunStartRequest, StopOutcome } from './agent-runner.js';
import type { RunResult } from './run-execution.js';

/** What the runner answers to a second run on a busy thread (policy `fail`). */
export function busyError(threadId: string, runId: string): CopilotRuntimeError {
  return new CopilotRuntimeError(
    'THREAD_BUSY',
    `Thread ${threadId} already has an active run (${runId}). Wait for it to finish or stop it.`,
  );
}

/** Another owner's thread: answered as if it did not exist, so its existence does not leak. */
export function forbiddenError(threadId: string): CopilotRuntimeError {
  return new CopilotRuntimeError('THREAD_NOT_FOUND', `Thread "${threadId}" was not found.`);
}

export function notRunning(message: string): StopOutcome {
  return { stopped: false, reason: 'not_running', message };
}

export function notFound(message: string): StopOutcome {
  return { stopped: false, reason: 'not_found', message };
}

export function validateRequest(request: RunStartRequest): void {
  if (!request.threadId) throw new CopilotRuntimeError('BAD_USER_INPUT', 'A run needs a threadId.');
  if (!request.runId) throw new CopilotRuntimeError('BAD_USER_INPUT', 'A run needs a runId.');
  if (request.onCallerGone !== 'abort' && request.onCallerGone !== 'continue') {
    throw new CopilotRuntimeError('BAD_USER_INPUT', `onCallerGone must be 'abort' or 'continue'.`);
  }
}

/** Waits for `promise` at most `ms`; true when it settled in time. Never rejects. */
export async function deadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const, () => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Tells the run's starter how it ended; a throwing callback is the starter's bug, not the run's. */
export function notifyFinished(onFinished: RunStartRequest['onFinished'], result: RunResult): void {
  try {
    onFinished?.(result);
  } catch {
    // Deliberately ignored: the run is recorded, nothing is left to protect.
  }
}
