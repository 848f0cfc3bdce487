/**
 * The shape of bench/results/stream-bench.json. Filled in as the phases finish (the key order of
 * the JSON is the order they are set in); on a failure only the first keys and `error` are there.
 */
import type { Check } from './checks.js';
import type { RunnerComparison } from './comparison.js';
import type { BenchConfig } from './config.js';
import type { BenchEnvironment } from './environment.js';
import type { MemorySnapshot, ServerProcess } from './lib/server-process.js';
import type { ConcurrentOutcome } from './phases/concurrent.js';
import type { HeapResult } from './phases/heap.js';
import type { PacedResult } from './phases/paced-ttft.js';
import type { ServerRun } from './phases/server-run.js';
import type { SingleStreamResult, Verification } from './phases/single-stream.js';
import type { UpstreamRequest } from './phases/warm-up.js';

export interface BenchResults {
  status: 'ok' | 'failed';
  error?: string;
  schemaVersion: 2;
  generatedAt: string;
  config: BenchConfig & { chunkSizeChars: number; model: string };
  environment: BenchEnvironment;
  aimock?: { keepAliveTimeoutMs: number | null };
  memory?: {
    bench: { beforeServer: MemorySnapshot; afterRuns?: MemorySnapshot };
    /** The RUNNER=postgres server's memory. */
    server?: ServerRun['serverMemory'];
  };
  /** Wall time per phase, in the order they ran. */
  phasesMs?: Record<string, number>;
  memoryRunnerHeap?: HeapResult;
  /** The sections below up to `serverLog` are the RUNNER=postgres server's (the default runner). */
  server?: { runner: 'postgres' } & ServerRun['server'];
  upstreamRequest?: UpstreamRequest;
  singleStream?: SingleStreamResult;
  verification?: Verification;
  pacedTtft?: PacedResult;
  concurrent?: ConcurrentOutcome[];
  runtimeStreams?: number;
  serverLog?: ServerProcess['logCounts'];
  runnerComparison?: RunnerComparison;
  durationMs?: number;
  checks?: Check[];
}

/** The results of a run that completed: every section is there. */
export type CompletedResults = BenchResults &
  Required<Omit<BenchResults, 'error' | 'checks'>> & {
    memory: Required<NonNullable<BenchResults['memory']>>;
    checks?: Check[];
  };

export const isCompleted = (results: BenchResults): results is CompletedResults => results.status === 'ok';
