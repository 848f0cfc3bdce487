/**
 * Phase: concurrent streams, per level of `config.concurrency`. Aggregate tokens/s = streams x
 * tokens / wall time of the batch. A level whose streams fail is recorded as failed and the bench
 * goes on (exit code 2 at the end).
 */
import { config, type Runner } from '../config.js';
import type { BenchContext } from '../context.js';
import type { ServerProcess } from '../lib/server-process.js';
import { summarize, type Summary } from '../lib/stats.js';
import { StreamCheckError } from '../lib/streams.js';
import { isQuiet, log } from '../log.js';
import { batch, check, tokensPerSecond, type Batch } from '../measure.js';
import type { StreamPaths } from '../stream-paths.js';

export interface ConcurrentResult {
  streams: number;
  batches: number;
  runtime: {
    aggregateTokensPerSecond: Summary;
    batchWallMs: Summary;
    perStreamTtftMs: Summary;
    /** Server CPU ms per answer, and server CPU time / wall time (1.0 = one core busy). */
    serverCpuMsPerAnswer: number | null;
    serverCpuUtilisation: number | null;
    /** Bench process (clients + aimock) CPU time / wall time during the runtime batches. */
    benchCpuUtilisation: number;
    perStreamTokensPerSecond: Summary;
  };
  directFetch: { aggregateTokensPerSecond: Summary; batchWallMs: Summary; perStreamTtftMs: Summary };
}

/** A concurrency level whose streams failed: the other phases still run, the run exits with 2. */
export interface FailedConcurrentResult {
  streams: number;
  batches: number;
  failed: true;
  error: string;
}

export type ConcurrentOutcome = ConcurrentResult | FailedConcurrentResult;

export const isFailedLevel = (item: ConcurrentOutcome): item is FailedConcurrentResult => 'failed' in item && item.failed;

export async function measureConcurrentStreams(
  ctx: BenchContext,
  runner: Runner,
  server: ServerProcess,
  paths: StreamPaths,
): Promise<ConcurrentOutcome[]> {
  const concurrent: ConcurrentOutcome[] = [];
  for (const streams of config.concurrency) {
    try {
      concurrent.push(await measureLevel(ctx, runner, server, paths, streams));
    } catch (error) {
      if (isQuiet() || !(error instanceof StreamCheckError)) throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log(`[${runner}] CONCURRENCY ${streams} FAILED (the bench goes on): ${message}`);
      concurrent.push({ streams, batches: config.batches, failed: true, error: message });
    }
  }
  return concurrent;
}

/** One warm-up batch, then `config.batches` batches of the runtime, each followed by one of direct fetch. */
async function measureLevel(
  ctx: BenchContext,
  runner: Runner,
  server: ServerProcess,
  paths: StreamPaths,
  streams: number,
): Promise<ConcurrentResult> {
  const { answer } = ctx;
  log(`[${runner}] concurrency ${streams}: 1 warm-up batch + ${config.batches} measured batch(es) each of runtime and direct fetch`);
  const warm = await batch(streams, () => paths.runtime());
  warm.timings.forEach((timing) => check(`runtime x${streams} (warm-up)`, timing, answer.text));
  const runtimeBatches: Batch[] = [];
  const fetchBatches: Batch[] = [];
  let serverCpuMs: number | null = 0;
  let benchCpuMs = 0;
  for (let index = 0; index < config.batches; index++) {
    const cpuBefore = await server.cpuMs();
    const benchCpu = process.cpuUsage();
    const runtimeBatch = await batch(streams, () => paths.runtime());
    const benchUsed = process.cpuUsage(benchCpu);
    benchCpuMs += (benchUsed.user + benchUsed.system) / 1000;
    const cpuAfter = await server.cpuMs();
    serverCpuMs = serverCpuMs === null || cpuBefore === null || cpuAfter === null ? null : serverCpuMs + cpuAfter - cpuBefore;
    runtimeBatch.timings.forEach((timing) => check(`runtime x${streams}`, timing, answer.text));
    runtimeBatches.push(runtimeBatch);
    const fetchBatch = await batch(streams, () => paths.directFetch());
    fetchBatch.timings.forEach((timing) => check(`direct fetch x${streams}`, timing, answer.text));
    fetchBatches.push(fetchBatch);
  }
  const aggregate = (batches: Batch[]) => summarize(batches.map((item) => tokensPerSecond(streams * config.tokens, item.wallMs)), 1);
  const runtimeWallMs = runtimeBatches.reduce((sum, item) => sum + item.wallMs, 0);
  return {
    streams,
    batches: config.batches,
    runtime: {
      aggregateTokensPerSecond: aggregate(runtimeBatches),
      batchWallMs: summarize(runtimeBatches.map((item) => item.wallMs), 1),
      perStreamTtftMs: summarize(runtimeBatches.flatMap((item) => item.timings.map((timing) => timing.ttftMs)), 2),
      serverCpuMsPerAnswer: serverCpuMs === null ? null : Number((serverCpuMs / (streams * config.batches)).toFixed(1)),
      serverCpuUtilisation: serverCpuMs === null ? null : Number((serverCpuMs / runtimeWallMs).toFixed(2)),
      benchCpuUtilisation: Number((benchCpuMs / runtimeWallMs).toFixed(2)),
      perStreamTokensPerSecond: summarize(
        runtimeBatches.flatMap((item) => item.timings.map((timing) => tokensPerSecond(config.tokens, timing.totalMs))),
        1,
      ),
    },
    directFetch: {
      aggregateTokensPerSecond: aggregate(fetchBatches),
      batchWallMs: summarize(fetchBatches.map((item) => item.wallMs), 1),
      perStreamTtftMs: summarize(fetchBatches.flatMap((item) => item.timings.map((timing) => timing.ttftMs)), 2),
    },
  };
}
