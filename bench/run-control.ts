/**
 * Runs the benchmark under control: a deadline (BENCH_DEADLINE_MS), SIGINT/SIGTERM (the first stops
 * through the normal cleanup, a second one at once), and whatever happens, every server child
 * stopped and every cleanup run. A failure is recorded in the results, not thrown.
 */
import { config } from './config.js';
import { ServerProcess } from './lib/server-process.js';
import { beQuiet, isQuiet } from './log.js';
import type { BenchResults } from './bench-results.js';

export interface RunControl {
  /** Run in reverse order at the end (temp directories, aimock). */
  cleanups: Array<() => Promise<void>>;
  /** Told of every server started: a failure prints the last one's log. */
  onServer: (server: ServerProcess) => void;
  /** True once the run has failed or been interrupted. */
  cancelled: () => boolean;
}

/**
 * `run` does the work; `complete` judges it (still inside the guard: if it throws, the run failed).
 * Returns whether a signal stopped the run.
 */
export async function runUnderControl(
  results: BenchResults,
  run: (control: RunControl) => Promise<void>,
  complete: () => void,
): Promise<{ signalled: boolean }> {
  const cleanups: Array<() => Promise<void>> = [];
  let server: ServerProcess | undefined;
  const killServer = () => ServerProcess.killAllNow();
  process.once('exit', killServer);
  // First signal: stop through the normal cleanup (server, temp directory); a second one: now.
  let interrupt: (error: Error) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      killServer();
      process.exit(130);
    }
    signalled = true;
    console.error(`[bench] ${signal}: stopping`);
    interrupt(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the benchmark exceeded BENCH_DEADLINE_MS (${config.deadlineMs} ms)`)), config.deadlineMs);
  });
  try {
    await Promise.race([run({ cleanups, onServer: (started) => (server = started), cancelled: isQuiet }), deadline, interrupted]);
    complete();
  } catch (error) {
    beQuiet();
    results.status = 'failed';
    results.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`[bench] FAILED: ${results.error}`);
    const failedServer = server as ServerProcess | undefined;
    if (failedServer) {
      results.serverLog = failedServer.logCounts;
      console.error(`[bench] server output (tail):\n${failedServer.logTail()}`);
    }
  } finally {
    clearTimeout(timer);
    // Every server child first (also one still starting when the deadline hit), then the rest.
    await ServerProcess.stopAll().catch((error: unknown) => console.error('[bench] stopping the server failed:', error));
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => console.error('[bench] cleanup failed:', error));
    }
  }
  return { signalled };
}
