/**
 * Phase: the in-memory runner's heap after many short runs. Drives `config.heapRuns` short runs over
 * raw HTTP (the client's mutation document, Accept: application/json) against the RUNNER=memory
 * server and reads its heap after a forced full GC at 25/50/75/100 % of them: the runner must stay
 * bounded (LRU of threads).
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_RUNS_OPTIONS } from '../../src/runs/runs-options.js';
import { config, HEAP_IDLE, HEAP_PLATEAU_MIN_BYTES, HEAP_PLATEAU_SHARE, heapPromptFor } from '../config.js';
import type { BenchContext } from '../context.js';
import { mib } from '../lib/report.js';
import type { MemorySnapshot, ServerProcess } from '../lib/server-process.js';
import { driveShortRuns, waitForIdle } from '../lib/short-runs.js';
import { summarize, type Summary } from '../lib/stats.js';
import { log } from '../log.js';

export interface HeapSample {
  runs: number;
  segmentWallMs: number;
  /** Right after the segment's last response, full GC: write-behind work may still be queued. */
  atLastResponse: MemorySnapshot | null;
  /** After the server went idle (queued conversation writes done), full GC. */
  settled: MemorySnapshot | null;
  drain: { idle: boolean; waitedMs: number };
  peakRss: number | null;
  serverWarnings: number;
  serverErrors: number;
}

export interface HeapPhaseResult {
  note: string;
  runs: number;
  tokensPerAnswer: number;
  concurrency: number;
  distinctThreads: number;
  runnerMaxThreads: number;
  gcForced: boolean;
  before: { idle: { idle: boolean; waitedMs: number }; memory: MemorySnapshot | null };
  samples: HeapSample[];
  after: MemorySnapshot | null;
  latencyMs: Summary;
  runsPerSecond: number;
  serverCpuMsPerRun: number | null;
  plateau: {
    rule: string;
    growthFirstToLastSampleBytes: number;
    growthSecondHalfBytes: number;
    secondHalfBytesPerRun: number;
    thresholdBytes: number;
    bounded: boolean;
  };
  durationMs: number;
}

/** The phase's result as recorded: with the server's log counts (live until the server stopped). */
export type HeapResult = HeapPhaseResult & { serverLog: ServerProcess['logCounts'] };

export async function measureHeap(ctx: BenchContext, server: ServerProcess, cancelled: () => boolean): Promise<HeapPhaseResult> {
  const startedAt = performance.now();
  const runs = config.heapRuns;
  const checkpoints = [0.25, 0.5, 0.75].map((share) => Math.round(runs * share));
  log(
    `[memory] heap: ${runs} short runs (${config.heapTokens} tokens each, JSON), ${config.heapConcurrency} at a time, ` +
      `${config.heapThreads} distinct thread(s); samples at ${[...checkpoints, runs].join(', ')}`,
  );
  const startIdle = await waitForIdle(server, HEAP_IDLE);
  const before = await server.memory(true);
  const cpuBefore = await server.cpuMs();
  const logBefore = { warnings: server.logCounts.warnings, errors: server.logCounts.errors };
  const samples: HeapSample[] = [];
  const prefix = `heap-${process.pid}-`;
  const driven = await driveShortRuns({
    url: server.url,
    runs,
    concurrency: config.heapConcurrency,
    threads: config.heapThreads,
    threadPrefix: prefix,
    prompt: heapPromptFor,
    expectedText: ctx.heapAnswer.text,
    timeoutMs: config.streamTimeoutMs,
    checkpoints,
    cancelled,
    onCheckpoint: async (completed, segmentWallMs) => {
      const atLastResponse = await server.memory(true, 15_000);
      const drain = await waitForIdle(server, HEAP_IDLE);
      const settled = await server.memory(true, 15_000);
      const sample: HeapSample = {
        runs: completed,
        segmentWallMs: Math.round(segmentWallMs),
        atLastResponse,
        settled,
        drain,
        peakRss: await server.peakRss(),
        serverWarnings: server.logCounts.warnings - logBefore.warnings,
        serverErrors: server.logCounts.errors - logBefore.errors,
      };
      samples.push(sample);
      log(
        `[memory] heap: ${completed} runs, heap used ${mib(settled?.heapUsed)} after GC ` +
          `(${mib(atLastResponse?.heapUsed)} at the last response), RSS ${mib(settled?.rss)}; ` +
          `segment ${(segmentWallMs / 1000).toFixed(1)} s, server idle after ${(drain.waitedMs / 1000).toFixed(1)} s` +
          `${drain.idle ? '' : ' (NOT idle)'}`,
      );
    },
  });
  const cpuAfter = await server.cpuMs();
  const latencies = Array.from(driven.latenciesMs);
  const heapAt = (count: number) => samples.find((sample) => sample.runs === count)?.settled?.heapUsed ?? Number.NaN;
  const mid = checkpoints[1];
  const growthSecondHalf = heapAt(runs) - heapAt(mid);
  const threshold = Math.max(HEAP_PLATEAU_MIN_BYTES, HEAP_PLATEAU_SHARE * heapAt(mid));
  const bounded = Number.isFinite(growthSecondHalf) && growthSecondHalf <= threshold;
  const gcForced = [before, ...samples.flatMap((sample) => [sample.atLastResponse, sample.settled])].every(
    (snapshot) => snapshot?.gcForced === true,
  );
  if (!gcForced) log('WARNING: a heap sample was taken without a forced GC (the server needs --expose-gc)');
  return {
    note:
      `${runs} runs over raw HTTP (the client's generateCopilotResponse document, Accept: application/json), ` +
      `${config.heapTokens}-token answers, ${config.heapConcurrency} in flight, run i on thread i % ${config.heapThreads}; ` +
      'each sample pauses dispatch until the runs in flight finished; heap numbers are after a forced full GC',
    runs,
    tokensPerAnswer: config.heapTokens,
    concurrency: config.heapConcurrency,
    distinctThreads: config.heapThreads,
    runnerMaxThreads: DEFAULT_RUNS_OPTIONS.memory.maxThreads,
    gcForced,
    before: { idle: startIdle, memory: before },
    samples,
    after: samples.at(-1)?.settled ?? null,
    latencyMs: summarize(latencies, 2),
    runsPerSecond: Number(((runs / driven.wallMs) * 1000).toFixed(1)),
    serverCpuMsPerRun: cpuBefore !== null && cpuAfter !== null ? Number(((cpuAfter - cpuBefore) / runs).toFixed(2)) : null,
    plateau: {
      rule:
        `bounded when heap used (after GC, server idle) grows by at most max(${mib(HEAP_PLATEAU_MIN_BYTES)}, ` +
        `${HEAP_PLATEAU_SHARE * 100} %) from ${mid} to ${runs} runs`,
      growthFirstToLastSampleBytes: heapAt(runs) - heapAt(checkpoints[0]),
      growthSecondHalfBytes: growthSecondHalf,
      secondHalfBytesPerRun: Number((growthSecondHalf / (runs - mid)).toFixed(1)),
      thresholdBytes: Math.round(threshold),
      bounded,
    },
    durationMs: Math.round(performance.now() - startedAt),
  };
}
