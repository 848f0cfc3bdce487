/**
 * One server process (one runner) measured by the same protocol for both runners: boot, warm-up,
 * single stream (interleaved with the direct baselines), paced TTFT, concurrent streams, memory.
 * The server is left running (the caller may measure more on it, then stops it).
 */
import { performance } from 'node:perf_hooks';
import type { Runner } from '../config.js';
import type { BenchContext } from '../context.js';
import type { MemorySnapshot, ServerProcess } from '../lib/server-process.js';
import { runtimePath } from '../stream-paths.js';
import { bootServer } from './boot.js';
import { measureConcurrentStreams, type ConcurrentOutcome } from './concurrent.js';
import { measurePacedTtft, type PacedResult } from './paced-ttft.js';
import { measureSingleStream, type SingleStreamResult, type Verification } from './single-stream.js';
import { warmUp, type UpstreamRequest } from './warm-up.js';

/** Everything measured on one server process (one runner). */
export interface ServerRun {
  runner: Runner;
  server: { pid: number | undefined; bootToReadyMs: number; url: string; runnerConfirmedByBootLog: boolean | null };
  upstreamRequest: UpstreamRequest;
  singleStream: SingleStreamResult;
  verification: Verification;
  pacedTtft: PacedResult;
  concurrent: ConcurrentOutcome[];
  serverMemory: Record<string, MemorySnapshot | number | null>;
  runtimeStreams: number;
  serverLog: ServerProcess['logCounts'];
  durationMs: number;
}

export async function measureServer(ctx: BenchContext, runner: Runner): Promise<{ run: ServerRun; server: ServerProcess }> {
  const startedAt = performance.now();
  const { server, bootMs, runnerConfirmed } = await bootServer(ctx, runner);
  const serverMemory: Record<string, MemorySnapshot | number | null> = { beforeRuns: await server.memory() };
  const runtime = runtimePath(ctx, server, runner);

  const { upstreamRequest, paths } = await warmUp(ctx, runner, runtime.run);
  serverMemory.afterWarmup = await server.memory();
  const { singleStream, verification } = await measureSingleStream(ctx, runner, server, paths);
  const pacedTtft = await measurePacedTtft(ctx, runner, paths);
  const concurrent = await measureConcurrentStreams(ctx, runner, server, paths);

  serverMemory.afterRuns = await server.memory();
  serverMemory.afterRunsAfterFullGc = await server.memory(true);
  serverMemory.peakRss = await server.peakRss();
  const run: ServerRun = {
    runner,
    server: { pid: server.pid, bootToReadyMs: Math.round(bootMs), url: server.url, runnerConfirmedByBootLog: runnerConfirmed },
    upstreamRequest,
    singleStream,
    verification,
    pacedTtft,
    concurrent,
    serverMemory,
    runtimeStreams: runtime.count(),
    serverLog: { ...server.logCounts, samples: [...server.logCounts.samples], errorSamples: [...server.logCounts.errorSamples] },
    durationMs: Math.round(performance.now() - startedAt),
  };
  return { run, server };
}
