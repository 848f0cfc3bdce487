/**
 * What the streaming benchmark measures with: the fixed setting (paths, model, prompts, aimock
 * pacing, heap rules) and the knobs read from the environment (all bounded; see stream.bench.ts).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this module runs from dist/bench/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');
export const MEMORY_PROBE = join(ROOT, 'dist', 'bench', 'lib', 'memory-probe.js');
export const COPILOTKIT_PATH = '/api/copilotkit';
export const MODEL = 'gpt-4o-mini';
const PROMPT = 'bench-stream-1000: please answer with the benchmark text';
export const promptFor = (key: string) => `${PROMPT} run=${key}`;
/** A short answer paced by aimock, so that the first token arrives alone (TTFT without the burst). */
export const PACED_MARKER = 'bench-ttft-paced';
export const PACED_TOKENS = 50;
export const PACED_CHUNK_LATENCY_MS = 2;
export const pacedPromptFor = (key: string) => `${PACED_MARKER}: please answer with the short paced text run=${key}`;
export const PROMPT_MARKER = 'bench-stream-1000';
/** The heap phase's short answers (a marker neither of the others contains). */
export const HEAP_MARKER = 'bench-heap-short';
export const heapPromptFor = (key: string) => `${HEAP_MARKER}: please answer with the short text run=${key}`;
/** Idle = the server used at most ~1 clock tick per 200 ms for 600 ms; queued writes may take a while. */
export const HEAP_IDLE = { quietMs: 600, intervalMs: 200, busyShare: 0.06, maxMs: 60_000 };
/** The heap plateaus when it grows by at most max(2 MiB, 2 %) over the second half of the runs. */
export const HEAP_PLATEAU_MIN_BYTES = 2 * 1024 * 1024;
export const HEAP_PLATEAU_SHARE = 0.02;

export type Runner = 'postgres' | 'memory';

/** The line each runner logs at boot (LOG_LEVEL=log): proof the server runs the runner asked for. */
export const RUNNER_BOOT_LINES: Record<Runner, RegExp> = {
  postgres: /Runs are durable in PostgreSQL/,
  memory: /Runs are kept in memory/,
};

// --- knobs from the environment ------------------------------------------------------------------

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return value;
}

function concurrencyFromEnv(): number[] {
  const raw = process.env.BENCH_CONCURRENCY ?? '4,16';
  const levels = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map(Number);
  if (levels.length > 4 || levels.some((level) => !Number.isInteger(level) || level < 2 || level > 64)) {
    throw new Error(`BENCH_CONCURRENCY must list up to 4 integers between 2 and 64 (got "${raw}")`);
  }
  return levels;
}

function runnerOrderFromEnv(): Runner[] {
  const raw = process.env.BENCH_RUNNER_ORDER ?? 'postgres,memory';
  const order = raw.split(',').map((part) => part.trim());
  if (order.length !== 2 || !order.includes('postgres') || !order.includes('memory')) {
    throw new Error(`BENCH_RUNNER_ORDER must be "postgres,memory" or "memory,postgres" (got "${raw}")`);
  }
  return order as Runner[];
}

const heapRuns = intFromEnv('BENCH_HEAP_RUNS', 10_000, 100, 100_000);
const heapConcurrency = intFromEnv('BENCH_HEAP_CONCURRENCY', 16, 1, 64);

/** Read once at start-up; the results record it verbatim (key order included). */
export const config = {
  tokens: intFromEnv('BENCH_TOKENS', 1000, 10, 5000),
  runs: intFromEnv('BENCH_RUNS', 20, 1, 200),
  warmup: intFromEnv('BENCH_WARMUP', 3, 1, 20),
  concurrency: concurrencyFromEnv(),
  batches: intFromEnv('BENCH_BATCHES', 3, 1, 20),
  /** Artificial delay between aimock chunks (0 = the whole answer in one burst, the default). */
  chunkLatencyMs: intFromEnv('BENCH_CHUNK_LATENCY_MS', 0, 0, 20),
  streamTimeoutMs: intFromEnv('BENCH_STREAM_TIMEOUT_MS', 60_000, 1_000, 600_000),
  /** Short runs against the RUNNER=memory server, and how they spread over threads. */
  heapRuns,
  heapConcurrency,
  /** At least the concurrency, so that two runs in flight never share a thread (busy-thread policy). */
  heapThreads: intFromEnv('BENCH_HEAP_THREADS', heapRuns, heapConcurrency, heapRuns),
  heapTokens: intFromEnv('BENCH_HEAP_TOKENS', 5, 1, 100),
  /** Which server runs first (the order may bias the comparison on a busy machine). */
  runnerOrder: runnerOrderFromEnv(),
  /** Goal for the runners' tokens/s: |postgres - memory| / memory at most this. */
  runnerGoal: 0.1,
  deadlineMs: intFromEnv('BENCH_DEADLINE_MS', 600_000, 10_000, 1_800_000),
  readyTimeoutMs: 60_000,
};

export type BenchConfig = typeof config;

export interface BenchAnswer {
  text: string;
  chunkSize: number;
}

/** `t0000 t0001 ...`: every token the same width, so chunkSize = width gives one token per chunk. */
export function benchAnswer(tokens: number): BenchAnswer {
  const digits = String(tokens - 1).length;
  const pieces = Array.from({ length: tokens }, (_, index) => `t${String(index).padStart(digits, '0')} `);
  return { text: pieces.join(''), chunkSize: digits + 2 };
}
