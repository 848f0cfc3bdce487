/**
 * Streaming benchmark: 1,000-token answers from aimock, through the built runtime server (a child
 * process), to the real v1 client (`CopilotRuntimeClient.generateCopilotResponse` + `asStream`).
 *
 *   npm run bench            (builds, then runs dist/bench/stream.bench.js)
 *
 * Measures, per answer: tokens/s end to end at the client, time to first token (TTFT) through the
 * runtime vs straight from aimock (raw streaming fetch of the very request the runtime sent, and
 * LangChain's ChatOpenAI configured like the runtime's provider), aggregate tokens/s with several
 * concurrent streams, and the server's memory before and after.
 *
 * It does so twice, with two server processes one after the other on the same database setting:
 * RUNNER=postgres (the default runner: event log + locks in Postgres; the sections the bench always
 * had) and RUNNER=memory (the in-memory runner), and compares them (goal: tokens/s within 10 %).
 * Then, still on the RUNNER=memory server, it drives BENCH_HEAP_RUNS short runs over raw HTTP
 * (the client's mutation document, Accept: application/json) and reads the server's heap after a
 * forced full GC at 25/50/75/100 % of them: the in-memory runner must stay bounded (LRU of threads).
 * Writes bench/results/stream-bench.json and stream-bench.md (fresh each run) and prints a summary.
 *
 * Knobs (environment, all bounded): BENCH_TOKENS (1000), BENCH_RUNS (20), BENCH_WARMUP (3),
 * BENCH_CONCURRENCY ("4,16"), BENCH_BATCHES (3 per concurrency level), BENCH_STREAM_TIMEOUT_MS
 * (60000), BENCH_HEAP_RUNS (10000), BENCH_HEAP_CONCURRENCY (16), BENCH_HEAP_THREADS (distinct
 * threads of the heap runs; default one per run), BENCH_HEAP_TOKENS (5), BENCH_RUNNER_ORDER
 * ("postgres,memory"; "memory,postgres" to check for an order bias), BENCH_DEADLINE_MS (600000,
 * the whole run). DATABASE_URL: use that Postgres instead of the embedded default (a fresh temp
 * DATA_DIR, shared by both servers). Everything else talks to 127.0.0.1 only.
 * Exit code 0 when the benchmark ran, 1 when it failed (results then carry `status: "failed"`), 2
 * when it ran but a must-check failed (`checks` in the results): the in-memory runner's heap did
 * not plateau, or streams of a concurrency level failed (that level is then recorded as failed
 * and the other phases still run). The 10 % runner goal is reported, not enforced.
 *
 * Layout: config.ts (knobs), aimock.ts and context.ts (what the phases share), phases/*.ts (one
 * file per phase, each taking the context and returning its result), comparison.ts and checks.ts
 * (judging the results), report/*.ts (the markdown, the console summary, the files), lib/* (server
 * process, streams, short runs, statistics). This file runs the phases in order.
 */
import { performance } from 'node:perf_hooks';
import { startAimock } from './aimock.js';
import { isCompleted, type BenchResults } from './bench-results.js';
import { checksOf } from './checks.js';
import { compareRunners } from './comparison.js';
import { benchAnswer, config, MODEL, RESULTS_DIR, type Runner } from './config.js';
import { benchContext, serverEnvironment } from './context.js';
import { describeEnvironment, loadAverage, ownMemory } from './environment.js';
import { clearResults } from './lib/report.js';
import { log } from './log.js';
import { headToHead } from './phases/head-to-head.js';
import { measureHeap } from './phases/heap.js';
import { measureServer, type ServerRun } from './phases/server-run.js';
import { printSummary } from './report/console-summary.js';
import { writeResults } from './report/write-results.js';
import { runUnderControl, type RunControl } from './run-control.js';

/** The phases in order; each section of `results` is set as soon as it is known. */
async function runPhases(results: BenchResults, { cleanups, onServer, cancelled }: RunControl): Promise<void> {
  const startedAt = performance.now();
  const aimock = await startAimock(cleanups);
  results.aimock = { keepAliveTimeoutMs: aimock.keepAliveTimeoutMs };
  log(
    `aimock on ${aimock.mock.url}: ${config.tokens} tokens per answer, chunkSize ${aimock.answer.chunkSize}, ` +
      (config.chunkLatencyMs ? `${config.chunkLatencyMs} ms between chunks` : 'no latency'),
  );
  const environment = await serverEnvironment(aimock.baseURL, cleanups);
  results.environment.database = environment.database;
  const memory: NonNullable<BenchResults['memory']> = { bench: { beforeServer: ownMemory() } };
  results.memory = memory;
  const ctx = benchContext(aimock, environment, onServer);
  const phases: Record<string, number> = {};
  results.phasesMs = phases;

  // Two servers, one after the other (BENCH_RUNNER_ORDER, Postgres first by default), the same
  // protocol on each. The Postgres (default) runner's numbers fill the sections the bench always
  // had; the in-memory runner's server also serves the short runs for its heap before it stops.
  const measured: Partial<Record<Runner, ServerRun>> = {};
  for (const runner of config.runnerOrder) {
    const { run, server } = await measureServer(ctx, runner);
    measured[runner] = run;
    phases[`${runner}Server`] = run.durationMs;
    if (runner === 'memory') {
      // The log counts by reference: the JSON shows them as they stand when it is written.
      const heap = { ...(await measureHeap(ctx, server, cancelled)), serverLog: server.logCounts };
      results.memoryRunnerHeap = heap;
      phases.memoryRunnerHeap = heap.durationMs;
    }
    const stopStarted = performance.now();
    await server.stop();
    phases[`${runner}Server`] += Math.round(performance.now() - stopStarted);
  }
  const headToHeadStarted = performance.now();
  const duel = await headToHead(ctx);
  phases.headToHead = Math.round(performance.now() - headToHeadStarted);
  const pg = measured.postgres!;
  const mem = measured.memory!;
  results.server = { runner: 'postgres', ...pg.server };
  results.upstreamRequest = pg.upstreamRequest;
  results.singleStream = pg.singleStream;
  results.verification = pg.verification;
  results.pacedTtft = pg.pacedTtft;
  results.concurrent = pg.concurrent;
  memory.server = pg.serverMemory;
  results.runtimeStreams = pg.runtimeStreams;
  results.serverLog = pg.serverLog;
  results.runnerComparison = { ...compareRunners(pg, mem), headToHead: duel };

  memory.bench.afterRuns = ownMemory();
  results.durationMs = Math.round(performance.now() - startedAt);
}

async function main(): Promise<number> {
  const results: BenchResults = {
    status: 'failed',
    schemaVersion: 2,
    generatedAt: new Date().toISOString(),
    config: { ...config, chunkSizeChars: benchAnswer(config.tokens).chunkSize, model: MODEL },
    environment: describeEnvironment(),
  };
  await clearResults(RESULTS_DIR);
  const { signalled } = await runUnderControl(
    results,
    (control) => runPhases(results, control),
    () => {
      results.status = 'ok';
      if (isCompleted(results)) results.checks = checksOf(results);
      results.environment.loadAverageAtEnd = loadAverage();
    },
  );
  const { json, md } = await writeResults(results);
  printSummary(results);
  console.log(`[bench] wrote ${json} and ${md}`);
  if (results.status !== 'ok') return signalled ? 130 : 1;
  const failedChecks = (results.checks ?? []).filter((item) => item.must && !item.ok);
  for (const item of failedChecks) console.error(`[bench] CHECK FAILED: ${item.name}: ${item.detail}`);
  return failedChecks.length > 0 ? 2 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('[bench] FAILED:', error);
    process.exit(1);
  },
);
