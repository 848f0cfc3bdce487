/** Phase: boot one server with RUNNER=<runner> and make sure it runs that runner. */
import { RUNNER_BOOT_LINES, type Runner } from '../config.js';
import { startServer, type BenchContext } from '../context.js';
import type { ServerProcess } from '../lib/server-process.js';
import { log } from '../log.js';
import { performance } from 'node:perf_hooks';

export interface BootedServer {
  server: ServerProcess;
  bootMs: number;
  /** True when the boot log names the runner; null when it names neither. */
  runnerConfirmed: true | null;
}

export async function bootServer(ctx: BenchContext, runner: Runner): Promise<BootedServer> {
  const bootStarted = performance.now();
  const server = await startServer(ctx, runner);
  const bootMs = performance.now() - bootStarted;
  // The runner's boot line says which runner really runs; the other one's line means RUNNER was
  // not honoured (e.g. a server build without the variable), and the comparison would be void.
  const bootLog = server.logTail(200);
  const other: Runner = runner === 'postgres' ? 'memory' : 'postgres';
  if (RUNNER_BOOT_LINES[other].test(bootLog)) {
    throw new Error(`the server started with RUNNER=${runner} runs the ${other} runner: RUNNER is not honoured by this build`);
  }
  const runnerConfirmed = RUNNER_BOOT_LINES[runner].test(bootLog) ? true : null;
  if (!runnerConfirmed) log(`WARNING: could not confirm the ${runner} runner from the server's boot log`);
  log(`[${runner}] server pid ${server.pid} ready at ${server.url} in ${bootMs.toFixed(0)} ms (RUNNER=${runner}, ${ctx.database})`);
  return { server, bootMs, runnerConfirmed };
}
