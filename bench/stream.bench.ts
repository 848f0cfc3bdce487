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
 */
import { LLMock } from '@copilotkit/aimock';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { clearResults, fmt, JSON_FILE, MARKDOWN_FILE, mib, row, writeResultFile } from './lib/report.js';
import { ServerProcess, type MemorySnapshot } from './lib/server-process.js';
import { driveShortRuns, waitForIdle } from './lib/short-runs.js';
import { differences, summarize, type Summary } from './lib/stats.js';
import { DEFAULT_RUNS_OPTIONS } from '../src/runs/runs-options.js';
import {
  benchChatModel,
  StreamCheckError,
  streamDirectFetch,
  streamDirectLangChain,
  runKeyOf,
  streamThroughRuntime,
  toLangChainMessages,
  withUserPrompt,
  type StreamTiming,
} from './lib/streams.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');
const MEMORY_PROBE = join(ROOT, 'dist', 'bench', 'lib', 'memory-probe.js');
const COPILOTKIT_PATH = '/api/copilotkit';
const MODEL = 'gpt-4o-mini';
const PROMPT = 'bench-stream-1000: please answer with the benchmark text';
const promptFor = (key: string) => `${PROMPT} run=${key}`;
/** A short answer paced by aimock, so that the first token arrives alone (TTFT without the burst). */
const PACED_MARKER = 'bench-ttft-paced';
const PACED_TOKENS = 50;
const PACED_CHUNK_LATENCY_MS = 2;
const pacedPromptFor = (key: string) => `${PACED_MARKER}: please answer with the short paced text run=${key}`;
const PROMPT_MARKER = 'bench-stream-1000';
/** The heap phase's short answers (a marker neither of the others contains). */
const HEAP_MARKER = 'bench-heap-short';
const heapPromptFor = (key: string) => `${HEAP_MARKER}: please answer with the short text run=${key}`;
/** Idle = the server used at most ~1 clock tick per 200 ms for 600 ms; queued writes may take a while. */
const HEAP_IDLE = { quietMs: 600, intervalMs: 200, busyShare: 0.06, maxMs: 60_000 };
/** The heap plateaus when it grows by at most max(2 MiB, 2 %) over the second half of the runs. */
const HEAP_PLATEAU_MIN_BYTES = 2 * 1024 * 1024;
const HEAP_PLATEAU_SHARE = 0.02;

// --- configuration -----------------------------------------------------------------------------

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

const config = {
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

/** `t0000 t0001 ...`: every token the same width, so chunkSize = width gives one token per chunk. */
function benchAnswer(tokens: number): { text: string; chunkSize: number } {
  const digits = String(tokens - 1).length;
  const pieces = Array.from({ length: tokens }, (_, index) => `t${String(index).padStart(digits, '0')} `);
  return { text: pieces.join(''), chunkSize: digits + 2 };
}

// --- helpers -----------------------------------------------------------------------------------

/** Set once the run has failed or been interrupted: work still winding down stays quiet. */
let quiet = false;
const log = (message: string) => {
  if (!quiet) console.log(`[bench] ${message}`);
};

function ownMemory(): MemorySnapshot {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}

function tokensPerSecond(tokens: number, ms: number): number {
  return (tokens / ms) * 1000;
}

function check(kind: string, timing: StreamTiming, expected: string): StreamTiming {
  if (timing.text !== expected) {
    const at = [...timing.text].findIndex((char, index) => char !== expected[index]);
    throw new StreamCheckError(
      `${kind}: the streamed text differs from the fixture (got ${timing.text.length} chars, expected ` +
        `${expected.length}; first difference at ${at < 0 ? timing.text.length : at})`,
    );
  }
  if (timing.ttftMs < 0) throw new StreamCheckError(`${kind}: no content chunk was seen`);
  return timing;
}

function gitInfo(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'unparseable';
  }
}

interface SeriesResult {
  runs: number;
  tokensPerSecond: Summary;
  ttftMs: Summary;
  totalMs: Summary;
  /** Request issued -> aimock received the model request. */
  toUpstreamRequestMs: Summary;
  /** aimock received the model request -> first content chunk at the caller. */
  upstreamRequestToFirstTokenMs: Summary;
  /** CPU ms of the bench process (client + aimock) per answer. */
  callerCpuMs: Summary;
  contentChunksAtCaller: { min: number; max: number };
}

function series(timings: StreamTiming[], tokens: number): SeriesResult {
  return {
    runs: timings.length,
    tokensPerSecond: summarize(timings.map((timing) => tokensPerSecond(tokens, timing.totalMs)), 1),
    ttftMs: summarize(timings.map((timing) => timing.ttftMs), 2),
    totalMs: summarize(timings.map((timing) => timing.totalMs), 1),
    toUpstreamRequestMs: summarize(timings.map((timing) => timing.upstreamMs ?? Number.NaN).filter(Number.isFinite), 2),
    upstreamRequestToFirstTokenMs: summarize(
      timings.map((timing) => timing.ttftMs - (timing.upstreamMs ?? Number.NaN)).filter(Number.isFinite),
      2,
    ),
    callerCpuMs: summarize(timings.map((timing) => timing.callerCpuMs ?? Number.NaN).filter(Number.isFinite), 1),
    contentChunksAtCaller: {
      min: Math.min(...timings.map((timing) => timing.chunks)),
      max: Math.max(...timings.map((timing) => timing.chunks)),
    },
  };
}

interface ConcurrentResult {
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

async function batch(
  streams: number,
  start: (index: number) => Promise<StreamTiming>,
): Promise<{ wallMs: number; timings: StreamTiming[] }> {
  const started = performance.now();
  // Every stream settles before a failure is reported: none is left running into the next phase.
  const settled = await Promise.allSettled(Array.from({ length: streams }, (_, index) => start(index)));
  const wallMs = performance.now() - started;
  const failed = settled.filter((outcome) => outcome.status === 'rejected');
  if (failed.length > 0) {
    const first = (failed[0] as PromiseRejectedResult).reason as unknown;
    const message = first instanceof Error ? `${first.name}: ${first.message}` : String(first);
    throw new StreamCheckError(`${failed.length} of ${streams} concurrent stream(s) failed; the first: ${message}`);
  }
  return { wallMs, timings: settled.map((outcome) => (outcome as PromiseFulfilledResult<StreamTiming>).value) };
}

/** A concurrency level whose streams failed: the other phases still run, the run exits with 2. */
interface FailedConcurrentResult {
  streams: number;
  batches: number;
  failed: true;
  error: string;
}

type ConcurrentOutcome = ConcurrentResult | FailedConcurrentResult;

const isFailedLevel = (item: ConcurrentOutcome): item is FailedConcurrentResult => 'failed' in item && item.failed;

/**
 * aimock's HTTP server closes idle keep-alive connections after Node's default 5 s and, because
 * it sets `Connection: keep-alive` itself, sends no `Keep-Alive: timeout=` hint; undici (the
 * runtime's fetch) keeps idle sockets for 4 s on a coarse timer. Under load (16 streams on 2
 * cores) the runtime then sometimes reuses a socket aimock is closing and the model call fails
 * with "other side closed" (fatal with LLM_MAX_RETRIES=0). Hosted APIs keep connections open far
 * longer, so the mock is given a 65 s idle timeout, as load balancers commonly use. The server is
 * not public API: reached defensively, and left alone if its shape differs.
 */
function extendKeepAlive(mock: LLMock): number | null {
  const server = (mock as unknown as { serverInstance?: { server?: Partial<Pick<HttpServer, 'keepAliveTimeout' | 'headersTimeout'>> } })
    .serverInstance?.server;
  if (!server || typeof server.keepAliveTimeout !== 'number') return null;
  server.keepAliveTimeout = 65_000;
  if (typeof server.headersTimeout === 'number' && server.headersTimeout <= 65_000) server.headersTimeout = 66_000;
  return server.keepAliveTimeout;
}

// --- the benchmark -----------------------------------------------------------------------------

interface Results {
  status: 'ok' | 'failed';
  error?: string;
  [key: string]: unknown;
}

type Runner = 'postgres' | 'memory';

/** The line each runner logs at boot (LOG_LEVEL=log): proof the server runs the runner asked for. */
const RUNNER_BOOT_LINES: Record<Runner, RegExp> = {
  postgres: /Runs are durable in PostgreSQL/,
  memory: /Runs are kept in memory/,
};

/** What the server phases share: aimock and its fixtures, the database setting, the model client. */
interface BenchContext {
  mock: LLMock;
  aimockBaseURL: string;
  answer: { text: string; chunkSize: number };
  pacedAnswer: { text: string; chunkSize: number };
  heapAnswer: { text: string; chunkSize: number };
  noteUpstream: (key: string, timing: StreamTiming) => StreamTiming;
  serverEnv: Record<string, string>;
  database: string;
  chatModel: ReturnType<typeof benchChatModel>;
  onServer: (server: ServerProcess) => void;
}

/** Everything measured on one server process (one runner), by the same protocol for both. */
interface ServerRun {
  runner: Runner;
  server: { pid: number | undefined; bootToReadyMs: number; url: string; runnerConfirmedByBootLog: boolean | null };
  upstreamRequest: Record<string, unknown>;
  singleStream: SingleStreamResult;
  verification: Record<string, unknown>;
  pacedTtft: PacedResult;
  concurrent: ConcurrentOutcome[];
  serverMemory: Record<string, MemorySnapshot | number | null>;
  runtimeStreams: number;
  serverLog: ServerProcess['logCounts'];
  durationMs: number;
}

interface SingleStreamResult {
  runtime: SeriesResult;
  directFetch: SeriesResult;
  directLangChain: SeriesResult;
  addedTtftMs: {
    note: string;
    vsDirectFetch: { paired: Summary; differenceOfMedians: number; differenceOfP95: number };
    vsDirectLangChain: { paired: Summary; differenceOfMedians: number; differenceOfP95: number };
  };
  serverCpuMsPerRuntimeAnswer: number | null;
  clientSnapshotsPerRuntimeAnswer: Summary;
  runtimeShareOfCeiling: number;
}

type PacedSeries = { ttftMs: Summary; toUpstreamRequestMs: Summary; upstreamRequestToFirstTokenMs: Summary };
interface PacedResult {
  note: string;
  tokens: number;
  chunkLatencyMs: number;
  runtime: PacedSeries;
  directFetch: PacedSeries;
  directLangChain: PacedSeries;
  addedTtftMs: { vsDirectFetch: Summary; vsDirectLangChain: Summary };
}

/**
 * Boots one server with RUNNER=<runner> and measures it: warm-up, single stream (interleaved with
 * the direct baselines), paced TTFT, concurrent streams, memory. The server is left running (the
 * caller may measure more, then stops it).
 */
async function measureServer(ctx: BenchContext, runner: Runner): Promise<{ run: ServerRun; server: ServerProcess }> {
  const startedAt = performance.now();
  const { mock, answer, pacedAnswer, noteUpstream, aimockBaseURL, chatModel } = ctx;
  const bootStarted = performance.now();
  const server = await ServerProcess.start({
    entry: SERVER_ENTRY,
    memoryProbe: MEMORY_PROBE,
    cwd: ROOT,
    env: { ...ctx.serverEnv, RUNNER: runner },
    path: COPILOTKIT_PATH,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  ctx.onServer(server);
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

  const serverMemory: Record<string, MemorySnapshot | number | null> = { beforeRuns: await server.memory() };
  const client = new CopilotRuntimeClient({ url: server.url });
  let runCounter = 0;
  let directCounter = 0;
  const tag = runner === 'postgres' ? 'pg' : 'mem';
  const runtimeRun = async (prompt = promptFor) => {
    const key = `rt-${tag}-${process.pid}-${++runCounter}`;
    return noteUpstream(key, await streamThroughRuntime(client, prompt(key), key, config.streamTimeoutMs));
  };

  // Warm-up: the first runtime run also tells us the exact request the runtime sends the model.
  log(`[${runner}] warm-up: ${config.warmup} run(s) each of runtime, direct fetch, direct ChatOpenAI`);
  check('runtime (warm-up)', await runtimeRun(), answer.text);
  const sent = mock
    .getRequests()
    .filter((entry) => entry.path.endsWith('/chat/completions'))
    .at(-1)?.body as Record<string, unknown> | undefined;
  if (!sent || !Array.isArray(sent.messages)) throw new Error('aimock did not record the runtime request');
  const upstreamMessages = sent.messages as Array<Record<string, unknown>>;
  const upstreamRequest = {
    model: sent.model,
    stream: sent.stream,
    streamOptions: sent.stream_options ?? null,
    messages: upstreamMessages.map((message) => String(message.role)),
    tools: Array.isArray(sent.tools) ? sent.tools.length : 0,
  };
  // The very request the runtime sent, only the run key in the prompt differs.
  const directFetchRun = async (prompt = promptFor) => {
    const key = `fetch-${tag}-${++directCounter}`;
    const body = { ...sent, messages: withUserPrompt(upstreamMessages, prompt(key)) };
    return noteUpstream(key, await streamDirectFetch(aimockBaseURL, body, config.streamTimeoutMs));
  };
  const directLangChainRun = async (prompt = promptFor) => {
    const key = `lc-${tag}-${++directCounter}`;
    const messages = toLangChainMessages(withUserPrompt(upstreamMessages, prompt(key)));
    return noteUpstream(key, await streamDirectLangChain(chatModel, messages, config.streamTimeoutMs));
  };
  for (let index = 0; index < config.warmup; index++) {
    if (index > 0) check('runtime (warm-up)', await runtimeRun(), answer.text);
    check('direct fetch (warm-up)', await directFetchRun(), answer.text);
    check('direct ChatOpenAI (warm-up)', await directLangChainRun(), answer.text);
  }
  serverMemory.afterWarmup = await server.memory();

  // Single stream, interleaved so drift (GC, JIT, the embedded database) hits all three alike.
  log(`[${runner}] single stream: ${config.runs} measured run(s) of each`);
  const single = { runtime: [] as StreamTiming[], directFetch: [] as StreamTiming[], directLangChain: [] as StreamTiming[] };
  const kinds = [
    ['directFetch', 'direct fetch', directFetchRun],
    ['directLangChain', 'direct ChatOpenAI', directLangChainRun],
    ['runtime', 'runtime', runtimeRun],
  ] as const;
  const serverCpuBefore = await server.cpuMs();
  for (let index = 0; index < config.runs; index++) {
    for (let step = 0; step < kinds.length; step++) {
      const [key, label, run] = kinds[(index + step) % kinds.length];
      const cpu = process.cpuUsage();
      const timing = await run(promptFor);
      const used = process.cpuUsage(cpu);
      single[key].push(check(label, { ...timing, callerCpuMs: (used.user + used.system) / 1000 }, answer.text));
    }
  }
  const serverCpuAfter = await server.cpuMs();
  const runtimeSeries = series(single.runtime, config.tokens);
  const fetchSeries = series(single.directFetch, config.tokens);
  const langChainSeries = series(single.directLangChain, config.tokens);
  const clientChunks = runtimeSeries.contentChunksAtCaller;
  const chunksConfirmed = clientChunks.min === config.tokens && clientChunks.max === config.tokens;
  if (!chunksConfirmed) {
    log(
      `WARNING: the client's content array held ${clientChunks.min}..${clientChunks.max} chunks, not ` +
        `${config.tokens}: the runtime re-chunks the stream (tokens/s still counts the model's ${config.tokens} tokens)`,
    );
  }
  const runtimeTtft = single.runtime.map((timing) => timing.ttftMs);
  const singleStream: SingleStreamResult = {
    runtime: runtimeSeries,
    directFetch: fetchSeries,
    directLangChain: langChainSeries,
    addedTtftMs: {
      note:
        'runtime TTFT minus direct TTFT, paired per iteration (same iteration, back to back); ' +
        'differenceOfMedians / differenceOfP95 compare the two distributions instead',
      vsDirectFetch: {
        paired: summarize(differences(runtimeTtft, single.directFetch.map((timing) => timing.ttftMs)), 2),
        differenceOfMedians: Number((runtimeSeries.ttftMs.median - fetchSeries.ttftMs.median).toFixed(2)),
        differenceOfP95: Number((runtimeSeries.ttftMs.p95 - fetchSeries.ttftMs.p95).toFixed(2)),
      },
      vsDirectLangChain: {
        paired: summarize(differences(runtimeTtft, single.directLangChain.map((timing) => timing.ttftMs)), 2),
        differenceOfMedians: Number((runtimeSeries.ttftMs.median - langChainSeries.ttftMs.median).toFixed(2)),
        differenceOfP95: Number((runtimeSeries.ttftMs.p95 - langChainSeries.ttftMs.p95).toFixed(2)),
      },
    },
    serverCpuMsPerRuntimeAnswer:
      serverCpuBefore !== null && serverCpuAfter !== null
        ? Number(((serverCpuAfter - serverCpuBefore) / config.runs).toFixed(1))
        : null,
    clientSnapshotsPerRuntimeAnswer: summarize(single.runtime.map((timing) => timing.snapshots ?? Number.NaN), 0),
    runtimeShareOfCeiling: Number((runtimeSeries.tokensPerSecond.median / fetchSeries.tokensPerSecond.median).toFixed(4)),
  };
  const verification = {
    fixtureTokens: config.tokens,
    clientContentChunks: clientChunks,
    oneClientChunkPerModelToken: chunksConfirmed,
    everyAnswerMatchedTheFixture: true,
  };

  // TTFT with a paced stream: aimock sends a short answer one chunk every few ms, so the first
  // token travels alone instead of at the head of a 1,000-chunk burst.
  log(`[${runner}] paced TTFT: ${PACED_TOKENS}-token answers, ${PACED_CHUNK_LATENCY_MS} ms between chunks, 1 warm-up + ${config.runs} run(s) of each`);
  const paced = { runtime: [] as StreamTiming[], directFetch: [] as StreamTiming[], directLangChain: [] as StreamTiming[] };
  for (let index = -1; index < config.runs; index++) {
    for (let step = 0; step < kinds.length; step++) {
      const [key, label, run] = kinds[(index + kinds.length + step) % kinds.length];
      const timing = check(`${label} (paced)`, await run(pacedPromptFor), pacedAnswer.text);
      if (index >= 0) paced[key].push(timing);
    }
  }
  const pacedTtft = (timings: StreamTiming[]): PacedSeries => ({
    ttftMs: summarize(timings.map((timing) => timing.ttftMs), 2),
    toUpstreamRequestMs: summarize(timings.map((timing) => timing.upstreamMs ?? Number.NaN).filter(Number.isFinite), 2),
    upstreamRequestToFirstTokenMs: summarize(
      timings.map((timing) => timing.ttftMs - (timing.upstreamMs ?? Number.NaN)).filter(Number.isFinite),
      2,
    ),
  });
  const pacedRuntimeTtft = paced.runtime.map((timing) => timing.ttftMs);
  const pacedResult: PacedResult = {
    note: `${PACED_TOKENS}-token answers, aimock waits ${PACED_CHUNK_LATENCY_MS} ms before each chunk; TTFT only`,
    tokens: PACED_TOKENS,
    chunkLatencyMs: PACED_CHUNK_LATENCY_MS,
    runtime: pacedTtft(paced.runtime),
    directFetch: pacedTtft(paced.directFetch),
    directLangChain: pacedTtft(paced.directLangChain),
    addedTtftMs: {
      vsDirectFetch: summarize(differences(pacedRuntimeTtft, paced.directFetch.map((timing) => timing.ttftMs)), 2),
      vsDirectLangChain: summarize(differences(pacedRuntimeTtft, paced.directLangChain.map((timing) => timing.ttftMs)), 2),
    },
  };

  // Concurrent streams: aggregate tokens/s = streams x tokens / wall time of the batch.
  // Concurrent streams: aggregate tokens/s = streams x tokens / wall time of the batch. A level
  // whose streams fail is recorded as failed and the bench goes on (exit code 2 at the end).
  const measureLevel = async (streams: number): Promise<ConcurrentResult> => {
    log(`[${runner}] concurrency ${streams}: 1 warm-up batch + ${config.batches} measured batch(es) each of runtime and direct fetch`);
    const warm = await batch(streams, () => runtimeRun());
    warm.timings.forEach((timing) => check(`runtime x${streams} (warm-up)`, timing, answer.text));
    const runtimeBatches: Array<{ wallMs: number; timings: StreamTiming[] }> = [];
    const fetchBatches: Array<{ wallMs: number; timings: StreamTiming[] }> = [];
    let serverCpuMs: number | null = 0;
    let benchCpuMs = 0;
    for (let index = 0; index < config.batches; index++) {
      const cpuBefore = await server.cpuMs();
      const benchCpu = process.cpuUsage();
      const runtimeBatch = await batch(streams, () => runtimeRun());
      const benchUsed = process.cpuUsage(benchCpu);
      benchCpuMs += (benchUsed.user + benchUsed.system) / 1000;
      const cpuAfter = await server.cpuMs();
      serverCpuMs = serverCpuMs === null || cpuBefore === null || cpuAfter === null ? null : serverCpuMs + cpuAfter - cpuBefore;
      runtimeBatch.timings.forEach((timing) => check(`runtime x${streams}`, timing, answer.text));
      runtimeBatches.push(runtimeBatch);
      const fetchBatch = await batch(streams, () => directFetchRun());
      fetchBatch.timings.forEach((timing) => check(`direct fetch x${streams}`, timing, answer.text));
      fetchBatches.push(fetchBatch);
    }
    const aggregate = (batches: typeof runtimeBatches) =>
      summarize(batches.map((item) => tokensPerSecond(streams * config.tokens, item.wallMs)), 1);
    return {
      streams,
      batches: config.batches,
      runtime: {
        aggregateTokensPerSecond: aggregate(runtimeBatches),
        batchWallMs: summarize(runtimeBatches.map((item) => item.wallMs), 1),
        perStreamTtftMs: summarize(runtimeBatches.flatMap((item) => item.timings.map((timing) => timing.ttftMs)), 2),
        serverCpuMsPerAnswer: serverCpuMs === null ? null : Number((serverCpuMs / (streams * config.batches)).toFixed(1)),
        serverCpuUtilisation:
          serverCpuMs === null
            ? null
            : Number((serverCpuMs / runtimeBatches.reduce((sum, item) => sum + item.wallMs, 0)).toFixed(2)),
        benchCpuUtilisation: Number((benchCpuMs / runtimeBatches.reduce((sum, item) => sum + item.wallMs, 0)).toFixed(2)),
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
  };
  const concurrent: ConcurrentOutcome[] = [];
  for (const streams of config.concurrency) {
    try {
      concurrent.push(await measureLevel(streams));
    } catch (error) {
      if (quiet || !(error instanceof StreamCheckError)) throw error;
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log(`[${runner}] CONCURRENCY ${streams} FAILED (the bench goes on): ${message}`);
      concurrent.push({ streams, batches: config.batches, failed: true, error: message });
    }
  }

  serverMemory.afterRuns = await server.memory();
  serverMemory.afterRunsAfterFullGc = await server.memory(true);
  serverMemory.peakRss = await server.peakRss();
  const run: ServerRun = {
    runner,
    server: { pid: server.pid, bootToReadyMs: Math.round(bootMs), url: server.url, runnerConfirmedByBootLog: runnerConfirmed },
    upstreamRequest,
    singleStream,
    verification,
    pacedTtft: pacedResult,
    concurrent,
    serverMemory,
    runtimeStreams: runCounter,
    serverLog: { ...server.logCounts, samples: [...server.logCounts.samples], errorSamples: [...server.logCounts.errorSamples] },
    durationMs: Math.round(performance.now() - startedAt),
  };
  return { run, server };
}

// --- Postgres runner vs in-memory runner -------------------------------------------------------

/** (postgres - memory) / memory, rounded: negative = the Postgres runner is lower. */
function relative(postgres: number, memory: number): number {
  return Number(((postgres - memory) / memory).toFixed(4));
}

function runnerFigures(run: ServerRun) {
  const single = run.singleStream;
  return {
    tokensPerSecond: { median: single.runtime.tokensPerSecond.median, slowP95: single.runtime.tokensPerSecond.p5 },
    ttftMs: { median: single.runtime.ttftMs.median, p95: single.runtime.ttftMs.p95 },
    addedTtftMs: { median: single.addedTtftMs.vsDirectFetch.paired.median, p95: single.addedTtftMs.vsDirectFetch.paired.p95 },
    pacedAddedTtftMs: { median: run.pacedTtft.addedTtftMs.vsDirectFetch.median, p95: run.pacedTtft.addedTtftMs.vsDirectFetch.p95 },
    directFetchTokensPerSecondMedian: single.directFetch.tokensPerSecond.median,
    runtimeShareOfCeiling: single.runtimeShareOfCeiling,
    serverCpuMsPerAnswer: single.serverCpuMsPerRuntimeAnswer,
    concurrent: run.concurrent.map((item) =>
      isFailedLevel(item)
        ? { streams: item.streams, failed: true, aggregateTokensPerSecondMedian: Number.NaN, perStreamTtftMsP95: Number.NaN, serverCpuMsPerAnswer: null }
        : {
            streams: item.streams,
            failed: false,
            aggregateTokensPerSecondMedian: item.runtime.aggregateTokensPerSecond.median,
            perStreamTtftMsP95: item.runtime.perStreamTtftMs.p95,
            serverCpuMsPerAnswer: item.runtime.serverCpuMsPerAnswer,
          },
    ),
  };
}

function compareRunners(postgres: ServerRun, memory: ServerRun): Record<string, unknown> {
  const pg = runnerFigures(postgres);
  const mem = runnerFigures(memory);
  const tokensMedian = relative(pg.tokensPerSecond.median, mem.tokensPerSecond.median);
  const tokensSlowP95 = relative(pg.tokensPerSecond.slowP95, mem.tokensPerSecond.slowP95);
  const goal = config.runnerGoal;
  return {
    note:
      'Same build, same DATABASE setting, same protocol; two server processes one after another ' +
      `(${config.runnerOrder.map((runner) => `RUNNER=${runner}`).join(', then ')}). Relative difference = (postgres - memory) / memory. ` +
      'Added TTFT = runtime TTFT minus direct-fetch TTFT, paired per iteration.',
    order: config.runnerOrder,
    postgres: pg,
    memory: mem,
    relativeDifference: {
      tokensPerSecondMedian: tokensMedian,
      tokensPerSecondSlowP95: tokensSlowP95,
      runtimeShareOfCeiling: relative(pg.runtimeShareOfCeiling, mem.runtimeShareOfCeiling),
      serverCpuMsPerAnswer:
        pg.serverCpuMsPerAnswer !== null && mem.serverCpuMsPerAnswer !== null
          ? relative(pg.serverCpuMsPerAnswer, mem.serverCpuMsPerAnswer)
          : null,
      addedTtftMedian: relative(pg.addedTtftMs.median, mem.addedTtftMs.median),
      pacedAddedTtftMedian: relative(pg.pacedAddedTtftMs.median, mem.pacedAddedTtftMs.median),
      concurrentAggregateTokensPerSecond: pg.concurrent.map((item, index) => ({
        streams: item.streams,
        relative: relative(item.aggregateTokensPerSecondMedian, mem.concurrent[index]?.aggregateTokensPerSecondMedian ?? Number.NaN),
      })),
    },
    addedTtftDifferenceMs: {
      median: Number((pg.addedTtftMs.median - mem.addedTtftMs.median).toFixed(2)),
      p95: Number((pg.addedTtftMs.p95 - mem.addedTtftMs.p95).toFixed(2)),
      pacedMedian: Number((pg.pacedAddedTtftMs.median - mem.pacedAddedTtftMs.median).toFixed(2)),
      pacedP95: Number((pg.pacedAddedTtftMs.p95 - mem.pacedAddedTtftMs.p95).toFixed(2)),
    },
    goal: {
      maxRelativeTokensPerSecondDifference: goal,
      medianWithinGoal: Math.abs(tokensMedian) <= goal,
      slowP95WithinGoal: Math.abs(tokensSlowP95) <= goal,
    },
    memoryServer: memory,
  };
}

// --- head to head: both runners at once, answers alternating -------------------------------------

interface HeadToHead {
  note: string;
  runs: number;
  postgres: { median: number; slowP95: number };
  memory: { median: number; slowP95: number };
  relative: { median: number; slowP95: number };
  goal: { maxRelativeTokensPerSecondDifference: number; medianWithinGoal: boolean; slowP95WithinGoal: boolean };
}

/**
 * Both runners' servers up at the same time, single-stream answers alternating between them
 * (pg, mem, mem, pg, ...): whatever drifts on the machine during the bench (other load, CPU
 * frequency, caches, GC) hits both alike. The sequential phases above give each runner's whole
 * picture, but one after the other they also compare two moments; this is the comparison the
 * tokens/s goal is judged on.
 */
async function headToHead(ctx: BenchContext): Promise<HeadToHead> {
  const runners: Runner[] = ['postgres', 'memory'];
  const servers: Partial<Record<Runner, ServerProcess>> = {};
  try {
    for (const runner of runners) {
      const server = await ServerProcess.start({
        entry: SERVER_ENTRY,
        memoryProbe: MEMORY_PROBE,
        cwd: ROOT,
        env: { ...ctx.serverEnv, RUNNER: runner },
        path: COPILOTKIT_PATH,
        readyTimeoutMs: config.readyTimeoutMs,
      });
      ctx.onServer(server);
      servers[runner] = server;
    }
    const clients = {
      postgres: new CopilotRuntimeClient({ url: servers.postgres!.url }),
      memory: new CopilotRuntimeClient({ url: servers.memory!.url }),
    };
    let counter = 0;
    const run = async (runner: Runner) => {
      const key = `h2h-${runner}-${process.pid}-${++counter}`;
      const timing = await streamThroughRuntime(clients[runner], promptFor(key), key, config.streamTimeoutMs);
      return check(`head-to-head ${runner}`, ctx.noteUpstream(key, timing), ctx.answer.text);
    };
    log(`head to head: ${config.warmup} warm-up + ${config.runs} answer(s) per runner, alternating`);
    for (let index = 0; index < config.warmup; index++) for (const runner of runners) await run(runner);
    const timings: Record<Runner, StreamTiming[]> = { postgres: [], memory: [] };
    for (let index = 0; index < config.runs; index++) {
      const order = index % 2 === 0 ? runners : [...runners].reverse();
      for (const runner of order) timings[runner].push(await run(runner));
    }
    const figures = (runner: Runner) => {
      const tokens = series(timings[runner], config.tokens).tokensPerSecond;
      return { median: tokens.median, slowP95: tokens.p5 };
    };
    const pg = figures('postgres');
    const mem = figures('memory');
    const rel = { median: relative(pg.median, mem.median), slowP95: relative(pg.slowP95, mem.slowP95) };
    return {
      note: 'Both servers running at once, single-stream answers alternating pg, mem, mem, pg, ...; relative = (postgres - memory) / memory.',
      runs: config.runs,
      postgres: pg,
      memory: mem,
      relative: rel,
      goal: {
        maxRelativeTokensPerSecondDifference: config.runnerGoal,
        medianWithinGoal: Math.abs(rel.median) <= config.runnerGoal,
        slowP95WithinGoal: Math.abs(rel.slowP95) <= config.runnerGoal,
      },
    };
  } finally {
    for (const runner of runners) await servers[runner]?.stop();
  }
}

// --- in-memory runner: heap after many short runs ----------------------------------------------

interface HeapSample {
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

async function heapPhase(ctx: BenchContext, server: ServerProcess, cancelled: () => boolean): Promise<Record<string, unknown>> {
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

// --- the whole run -----------------------------------------------------------------------------

async function runBenchmark(
  results: Results,
  cleanups: Array<() => Promise<void>>,
  onServer: (server: ServerProcess) => void,
  cancelled: () => boolean,
): Promise<void> {
  const startedAt = performance.now();
  const answer = benchAnswer(config.tokens);
  const pacedAnswer = benchAnswer(PACED_TOKENS);
  const heapAnswer = benchAnswer(config.heapTokens);

  // aimock: no artificial latency, one token per SSE chunk. A bounded journal (the bench reads
  // only the last runtime request from it).
  // The response factory runs when aimock matches a request: it notes when each run's model
  // request arrived (same clock as the clients), which splits TTFT into "before the model call"
  // and "after it".
  const arrivals = new Map<string, number>();
  const mock = new LLMock({ port: 0, host: '127.0.0.1', journalMaxEntries: 50, logLevel: 'silent' });
  mock.onMessage(
    PROMPT_MARKER,
    (request) => {
      const key = runKeyOf(request.messages as Array<{ role?: string; content?: unknown }>);
      if (key && arrivals.size < 10_000) arrivals.set(key, performance.now());
      return { content: answer.text };
    },
    { chunkSize: answer.chunkSize, ...(config.chunkLatencyMs ? { latency: config.chunkLatencyMs } : {}) },
  );
  mock.onMessage(
    PACED_MARKER,
    (request) => {
      const key = runKeyOf(request.messages as Array<{ role?: string; content?: unknown }>);
      if (key && arrivals.size < 10_000) arrivals.set(key, performance.now());
      return { content: pacedAnswer.text };
    },
    { chunkSize: pacedAnswer.chunkSize, latency: PACED_CHUNK_LATENCY_MS },
  );
  // The heap phase's short answers: nothing noted per run.
  mock.onMessage(HEAP_MARKER, { content: heapAnswer.text }, { chunkSize: heapAnswer.chunkSize });
  const noteUpstream = (key: string, timing: StreamTiming): StreamTiming => {
    const arrived = arrivals.get(key);
    arrivals.delete(key);
    return { ...timing, upstreamMs: arrived === undefined ? Number.NaN : arrived - timing.startedAt };
  };
  await mock.start();
  cleanups.push(() => mock.stop());
  results.aimock = { keepAliveTimeoutMs: extendKeepAlive(mock) };
  const aimockBaseURL = `${mock.url}/v1`;
  log(
    `aimock on ${mock.url}: ${config.tokens} tokens per answer, chunkSize ${answer.chunkSize}, ` +
      (config.chunkLatencyMs ? `${config.chunkLatencyMs} ms between chunks` : 'no latency'),
  );

  // Database: DATABASE_URL when given, else the embedded default in a fresh temp directory. Both
  // servers (one after the other) use the same setting.
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const serverEnv: Record<string, string> = {
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: aimockBaseURL,
    LLM_MODEL: MODEL,
    LLM_MAX_RETRIES: '0',
    // 'log' rather than 'warn': the runner's boot line confirms RUNNER; nothing is logged per run.
    LOG_LEVEL: 'log',
    LOG_FORMAT: 'text',
  };
  let database: string;
  if (databaseUrl) {
    serverEnv.DATABASE_URL = databaseUrl;
    database = `postgres via DATABASE_URL (${redactUrl(databaseUrl)})`;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'crn-bench-'));
    serverEnv.DATA_DIR = dataDir;
    // Registered before the servers' stop (cleanups run in reverse): PGlite must stop first.
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    database = 'embedded PGlite (fresh temp DATA_DIR, shared by both servers)';
  }
  (results.environment as Record<string, unknown>).database = database;

  const memory: Record<string, unknown> = { bench: { beforeServer: ownMemory() } };
  results.memory = memory;
  const ctx: BenchContext = {
    mock,
    aimockBaseURL,
    answer,
    pacedAnswer,
    heapAnswer,
    noteUpstream,
    serverEnv,
    database,
    chatModel: benchChatModel(aimockBaseURL, MODEL),
    onServer,
  };
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
      const heap = await heapPhase(ctx, server, cancelled);
      heap.serverLog = server.logCounts;
      results.memoryRunnerHeap = heap;
      phases.memoryRunnerHeap = heap.durationMs as number;
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

  (memory.bench as Record<string, unknown>).afterRuns = ownMemory();
  results.durationMs = Math.round(performance.now() - startedAt);
}

// --- reporting ---------------------------------------------------------------------------------

function markdown(results: Results): string {
  const lines: string[] = ['# Streaming benchmark (`npm run bench`)', ''];
  const env = results.environment as Record<string, unknown>;
  lines.push(
    `Generated ${results.generatedAt} on ${env.cpus} x ${env.cpuModel}, Node ${env.node}, ${env.database}; ` +
      `commit ${env.gitCommit ?? 'n/a'}${env.gitDirty ? ' (with uncommitted changes)' : ''}; ` +
      `load average ${JSON.stringify(env.loadAverageAtStart)} at start${env.loadAverageAtEnd ? `, ${JSON.stringify(env.loadAverageAtEnd)} at end` : ''} ` +
      '(other work on the machine skews the numbers).',
    '',
  );
  if (results.status !== 'ok') {
    lines.push(`**The run FAILED:** ${results.error}`, '');
    return lines.join('\n');
  }
  const cfg = results.config as typeof config & { chunkSizeChars: number };
  const single = results.singleStream as {
    runtime: SeriesResult;
    directFetch: SeriesResult;
    directLangChain: SeriesResult;
    addedTtftMs: Record<'vsDirectFetch' | 'vsDirectLangChain', { paired: Summary; differenceOfMedians: number; differenceOfP95: number }>;
    runtimeShareOfCeiling: number;
    serverCpuMsPerRuntimeAnswer: number | null;
    clientSnapshotsPerRuntimeAnswer: Summary;
  };
  type PacedSeries = { ttftMs: Summary; toUpstreamRequestMs: Summary; upstreamRequestToFirstTokenMs: Summary };
  const paced = results.pacedTtft as {
    tokens: number;
    chunkLatencyMs: number;
    runtime: PacedSeries;
    directFetch: PacedSeries;
    directLangChain: PacedSeries;
    addedTtftMs: { vsDirectFetch: Summary; vsDirectLangChain: Summary };
  };
  const verification = results.verification as { clientContentChunks: { min: number; max: number }; oneClientChunkPerModelToken: boolean };
  lines.push(
    `${cfg.tokens}-token answers from aimock (${cfg.chunkLatencyMs ? `${cfg.chunkLatencyMs} ms between chunks` : 'no artificial latency: the whole answer in one burst'}, one token per SSE chunk), ` +
      `${cfg.runs} measured runs after ${cfg.warmup} warm-up runs, interleaved. The server runs as a separate ` +
      'process (`node dist/src/main.js`); the bench process holds aimock and the clients. ' +
      `The real client's \`content\` array held ${verification.clientContentChunks.min}..${verification.clientContentChunks.max} chunks per answer` +
      `${verification.oneClientChunkPerModelToken ? ' (one per model token)' : ' (NOT one per model token)'}.`,
    '',
    'The sections up to "Server memory" measure the default runner, **RUNNER=postgres** (event log and thread locks in ' +
      'Postgres); "Postgres runner vs in-memory runner" repeats the same protocol on a second server with RUNNER=memory.',
    '',
    '## Single stream',
    '',
    'tokens/s = model tokens / (request issued -> stream finished) at the caller. "slow p95" is the tokens/s of the ',
    '95th-percentile slowest stream (the 5th percentile of tokens/s).',
    '',
    row(['path', 'tokens/s median', 'tokens/s slow p95', 'TTFT median (ms)', 'TTFT p95 (ms)', 'total median (ms)']),
    row(['---', '---:', '---:', '---:', '---:', '---:']),
  );
  const seriesRow = (label: string, item: SeriesResult) =>
    row([label, fmt(item.tokensPerSecond.median, 0), fmt(item.tokensPerSecond.p5, 0), fmt(item.ttftMs.median, 2), fmt(item.ttftMs.p95, 2), fmt(item.totalMs.median, 1)]);
  lines.push(
    seriesRow('through the runtime (v1 client)', single.runtime),
    seriesRow('direct: raw streaming fetch (ceiling)', single.directFetch),
    seriesRow('direct: LangChain ChatOpenAI', single.directLangChain),
    '',
    `Runtime throughput = ${(single.runtimeShareOfCeiling * 100).toFixed(1)} % of the direct-fetch ceiling (medians).`,
    '',
    `CPU per answer: server ${fmt(single.serverCpuMsPerRuntimeAnswer, 1)} ms (runtime path); bench process (client + aimock, median) ` +
      `${fmt(single.runtime.callerCpuMs.median, 1)} ms via the runtime, ${fmt(single.directFetch.callerCpuMs.median, 1)} ms raw fetch, ` +
      `${fmt(single.directLangChain.callerCpuMs.median, 1)} ms ChatOpenAI. The v1 client delivered ` +
      `${fmt(single.clientSnapshotsPerRuntimeAnswer.median, 0)} results (incremental payloads) per answer (median).`,
    '',
    'TTFT breakdown (aimock notes when each model request arrives, on the bench clock):',
    '',
    row(['path', 'request -> model request median / p95 (ms)', 'model request -> first token at caller median / p95 (ms)']),
    row(['---', '---:', '---:']),
    ...(
      [
        ['through the runtime', single.runtime],
        ['direct: raw fetch', single.directFetch],
        ['direct: ChatOpenAI', single.directLangChain],
      ] as const
    ).map(([label, item]) =>
      row([
        label,
        `${fmt(item.toUpstreamRequestMs.median, 2)} / ${fmt(item.toUpstreamRequestMs.p95, 2)}`,
        `${fmt(item.upstreamRequestToFirstTokenMs.median, 2)} / ${fmt(item.upstreamRequestToFirstTokenMs.p95, 2)}`,
      ]),
    ),
    '',
    '## Added time to first token (runtime minus direct, paired per iteration)',
    '',
    row(['baseline', 'added median (ms)', 'added p95 (ms)', 'median(runtime) - median(direct)', 'p95(runtime) - p95(direct)']),
    row(['---', '---:', '---:', '---:', '---:']),
    row(['raw fetch', fmt(single.addedTtftMs.vsDirectFetch.paired.median, 2), fmt(single.addedTtftMs.vsDirectFetch.paired.p95, 2), fmt(single.addedTtftMs.vsDirectFetch.differenceOfMedians, 2), fmt(single.addedTtftMs.vsDirectFetch.differenceOfP95, 2)]),
    row(['ChatOpenAI', fmt(single.addedTtftMs.vsDirectLangChain.paired.median, 2), fmt(single.addedTtftMs.vsDirectLangChain.paired.p95, 2), fmt(single.addedTtftMs.vsDirectLangChain.differenceOfMedians, 2), fmt(single.addedTtftMs.vsDirectLangChain.differenceOfP95, 2)]),
    '',
    `The direct baselines see the first token at the head of a ${cfg.tokens}-chunk burst that aimock writes in one go; `,
    'through the runtime the first token waits while that burst is processed. The paced measurement below isolates the ',
    'fixed per-request overhead.',
    '',
    `## Added time to first token, paced stream (${paced.tokens} tokens, ${paced.chunkLatencyMs} ms between chunks)`,
    '',
    row(['path', 'TTFT median / p95 (ms)', 'request -> model request median / p95 (ms)', 'model request -> first token median / p95 (ms)']),
    row(['---', '---:', '---:', '---:']),
    ...(
      [
        ['through the runtime', paced.runtime],
        ['direct: raw fetch', paced.directFetch],
        ['direct: ChatOpenAI', paced.directLangChain],
      ] as const
    ).map(([label, item]) =>
      row([
        label,
        `${fmt(item.ttftMs.median, 2)} / ${fmt(item.ttftMs.p95, 2)}`,
        `${fmt(item.toUpstreamRequestMs.median, 2)} / ${fmt(item.toUpstreamRequestMs.p95, 2)}`,
        `${fmt(item.upstreamRequestToFirstTokenMs.median, 2)} / ${fmt(item.upstreamRequestToFirstTokenMs.p95, 2)}`,
      ]),
    ),
    '',
    `Added TTFT (paired): vs raw fetch ${fmt(paced.addedTtftMs.vsDirectFetch.median, 2)} ms median / ` +
      `${fmt(paced.addedTtftMs.vsDirectFetch.p95, 2)} ms p95; vs ChatOpenAI ${fmt(paced.addedTtftMs.vsDirectLangChain.median, 2)} / ` +
      `${fmt(paced.addedTtftMs.vsDirectLangChain.p95, 2)} ms.`,
    '',
    '## Concurrent streams (aggregate tokens/s = streams x tokens / batch wall time)',
    '',
    row(['streams', 'runtime aggregate tok/s (median)', 'runtime per-stream TTFT median / p95 (ms)', 'server CPU ms/answer (cores busy)', 'bench process cores busy', 'direct fetch aggregate tok/s (median)', 'runtime share']),
    row(['---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const item of results.concurrent as ConcurrentOutcome[]) {
    if (isFailedLevel(item)) {
      lines.push(row([item.streams, `**FAILED**: ${item.error.replace(/\|/g, '/')}`, '', '', '', '', '']));
      continue;
    }
    lines.push(
      row([
        item.streams,
        fmt(item.runtime.aggregateTokensPerSecond.median, 0),
        `${fmt(item.runtime.perStreamTtftMs.median, 1)} / ${fmt(item.runtime.perStreamTtftMs.p95, 1)}`,
        `${fmt(item.runtime.serverCpuMsPerAnswer, 1)} (${fmt(item.runtime.serverCpuUtilisation, 2)})`,
        fmt(item.runtime.benchCpuUtilisation, 2),
        fmt(item.directFetch.aggregateTokensPerSecond.median, 0),
        `${((item.runtime.aggregateTokensPerSecond.median / item.directFetch.aggregateTokensPerSecond.median) * 100).toFixed(1)} %`,
      ]),
    );
  }
  const memory = results.memory as {
    server: Record<string, MemorySnapshot | number | null>;
    bench: Record<string, MemorySnapshot>;
  };
  const server = memory.server;
  const snap = (value: MemorySnapshot | number | null | undefined) => value as MemorySnapshot | null | undefined;
  lines.push(
    '',
    '## Server memory',
    '',
    row(['moment', 'RSS', 'heap used', 'heap total', 'external']),
    row(['---', '---:', '---:', '---:', '---:']),
  );
  for (const [label, key] of [
    ['after boot, before any stream', 'beforeRuns'],
    ['after warm-up', 'afterWarmup'],
    ['after all runs', 'afterRuns'],
    ['after all runs + full GC', 'afterRunsAfterFullGc'],
  ] as const) {
    const value = snap(server[key]);
    lines.push(row([label, mib(value?.rss), mib(value?.heapUsed), mib(value?.heapTotal), mib(value?.external)]));
  }
  lines.push(
    '',
    `Peak server RSS (VmHWM): ${mib(server.peakRss as number | null)}. Runtime streams served: ${results.runtimeStreams}. ` +
      `Bench process RSS ${mib(memory.bench.beforeServer?.rss)} -> ${mib(memory.bench.afterRuns?.rss)}. ` +
      `Whole run ${((results.durationMs as number) / 1000).toFixed(1)} s (` +
      Object.entries((results.phasesMs as Record<string, number>) ?? {})
        .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
        .join(', ') +
      ').',
    '',
    `Server log during these measurements (RUNNER=postgres server): ${(results.serverLog as { warnings: number }).warnings} warning(s), ` +
      `${(results.serverLog as { errors: number }).errors} error(s) (first ones in the JSON, \`serverLog.samples\`).`,
    '',
    ...runnerSections(results),
    'Raw numbers: `stream-bench.json` (same directory).',
    '',
  );
  return lines.join('\n');
}

interface ComparisonView {
  order: string[];
  headToHead?: HeadToHead;
  postgres: ReturnType<typeof runnerFigures>;
  memory: ReturnType<typeof runnerFigures>;
  relativeDifference: {
    tokensPerSecondMedian: number;
    tokensPerSecondSlowP95: number;
    runtimeShareOfCeiling: number;
    serverCpuMsPerAnswer: number | null;
    addedTtftMedian: number;
    pacedAddedTtftMedian: number;
    concurrentAggregateTokensPerSecond: Array<{ streams: number; relative: number }>;
  };
  addedTtftDifferenceMs: { median: number; p95: number; pacedMedian: number; pacedP95: number };
  goal: { maxRelativeTokensPerSecondDifference: number; medianWithinGoal: boolean; slowP95WithinGoal: boolean };
  memoryServer: ServerRun;
}

interface HeapView {
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
  serverLog: { warnings: number; errors: number; samples: string[]; errorSamples: string[] };
  durationMs: number;
}

const percent = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %` : 'n/a');
const signedMs = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms` : 'n/a');
const mibDelta = (bytes: number) => (Number.isFinite(bytes) ? `${bytes >= 0 ? '+' : '-'}${mib(Math.abs(bytes))}` : 'n/a');

/** The runner comparison and the heap sections of the report. */
function runnerSections(results: Results): string[] {
  const comparison = results.runnerComparison as ComparisonView;
  const heap = results.memoryRunnerHeap as HeapView;
  const { postgres: pg, memory: mem, relativeDifference: rel } = comparison;
  const both = (pick: (figures: typeof pg) => string) => [pick(pg), pick(mem)];
  const goal = comparison.goal;
  const verdict = (ok: boolean) => (ok ? 'met' : '**NOT met**');
  const lines: string[] = [
    '## Postgres runner vs in-memory runner',
    '',
    'The same build and the same database setting, two server processes one after the other ' +
      `(${comparison.order.map((runner) => `RUNNER=${runner}`).join(', then ')}), each measured by the same protocol as above ` +
      '(warm-up, single stream interleaved with the direct baselines, paced TTFT, concurrent streams). Both runners record ' +
      'conversations (threads, runs, messages) in the database; the Postgres runner adds the event log and the thread locks. ' +
      'Relative difference = (postgres - memory) / memory.',
    '',
    row(['', 'RUNNER=postgres', 'RUNNER=memory', 'postgres vs memory']),
    row(['---', '---:', '---:', '---:']),
    row(['tokens/s median', ...both((f) => fmt(f.tokensPerSecond.median, 0)), percent(rel.tokensPerSecondMedian)]),
    row(['tokens/s slow p95', ...both((f) => fmt(f.tokensPerSecond.slowP95, 0)), percent(rel.tokensPerSecondSlowP95)]),
    row(['TTFT median / p95 (ms)', ...both((f) => `${fmt(f.ttftMs.median, 2)} / ${fmt(f.ttftMs.p95, 2)}`), '']),
    row([
      `added TTFT vs raw fetch, ${config.tokens}-token answers, median / p95 (ms)`,
      ...both((f) => `${fmt(f.addedTtftMs.median, 2)} / ${fmt(f.addedTtftMs.p95, 2)}`),
      `${signedMs(comparison.addedTtftDifferenceMs.median)} / ${signedMs(comparison.addedTtftDifferenceMs.p95)}`,
    ]),
    row([
      `added TTFT vs raw fetch, paced ${PACED_TOKENS}-token answers, median / p95 (ms)`,
      ...both((f) => `${fmt(f.pacedAddedTtftMs.median, 2)} / ${fmt(f.pacedAddedTtftMs.p95, 2)}`),
      `${signedMs(comparison.addedTtftDifferenceMs.pacedMedian)} / ${signedMs(comparison.addedTtftDifferenceMs.pacedP95)}`,
    ]),
    row(['runtime share of the direct-fetch ceiling (medians)', ...both((f) => `${(f.runtimeShareOfCeiling * 100).toFixed(1)} %`), percent(rel.runtimeShareOfCeiling)]),
    row(['direct fetch tokens/s median (machine drift check)', ...both((f) => fmt(f.directFetchTokensPerSecondMedian, 0)), '']),
    row(['server CPU ms per answer (single stream; less sensitive to other load)', ...both((f) => fmt(f.serverCpuMsPerAnswer, 1)), rel.serverCpuMsPerAnswer === null ? 'n/a' : percent(rel.serverCpuMsPerAnswer)]),
    ...pg.concurrent.map((item, index) => {
      const other = mem.concurrent[index];
      return row([
        `x${item.streams} aggregate tok/s median (per-stream TTFT p95 ms)`,
        item.failed ? '**FAILED**' : `${fmt(item.aggregateTokensPerSecondMedian, 0)} (${fmt(item.perStreamTtftMsP95, 1)})`,
        !other || other.failed ? '**FAILED**' : `${fmt(other.aggregateTokensPerSecondMedian, 0)} (${fmt(other.perStreamTtftMsP95, 1)})`,
        percent(rel.concurrentAggregateTokensPerSecond[index]?.relative ?? Number.NaN),
      ]);
    }),
    '',
    `Sequential phases, tokens/s within ${goal.maxRelativeTokensPerSecondDifference * 100} %: median ${verdict(goal.medianWithinGoal)} ` +
      `(${percent(rel.tokensPerSecondMedian)}), slow p95 ${verdict(goal.slowP95WithinGoal)} (${percent(rel.tokensPerSecondSlowP95)}).`,
    '',
    ...(comparison.headToHead
      ? [
          `Head to head (both servers at once, ${comparison.headToHead.runs} answers each, alternating): postgres ` +
            `${fmt(comparison.headToHead.postgres.median, 0)} / ${fmt(comparison.headToHead.postgres.slowP95, 0)} tok/s, memory ` +
            `${fmt(comparison.headToHead.memory.median, 0)} / ${fmt(comparison.headToHead.memory.slowP95, 0)} tok/s (median / slow p95): ` +
            `${percent(comparison.headToHead.relative.median)} / ${percent(comparison.headToHead.relative.slowP95)}; ` +
            `goal at the median ${verdict(comparison.headToHead.goal.medianWithinGoal)}.`,
          '',
        ]
      : []),
    `RUNNER=memory server: ready in ${comparison.memoryServer.server.bootToReadyMs} ms, ${comparison.memoryServer.runtimeStreams} runtime streams, ` +
      `${comparison.memoryServer.serverLog.warnings} warning(s) and ${comparison.memoryServer.serverLog.errors} error(s) in its log during ` +
      'these measurements; the full results are in the JSON (`runnerComparison.memoryServer`).',
    '',
  ];

  const sampleRows = heap.samples.map((sample) =>
    row([
      sample.runs,
      mib(sample.settled?.heapUsed),
      mib(sample.atLastResponse?.heapUsed),
      mib(sample.settled?.rss),
      mib(sample.settled?.external),
      (sample.segmentWallMs / 1000).toFixed(1),
      `${(sample.drain.waitedMs / 1000).toFixed(1)}${sample.drain.idle ? '' : ' (not idle)'}`,
      `${sample.serverWarnings} / ${sample.serverErrors}`,
    ]),
  );
  lines.push(
    `## In-memory runner: heap after ${heap.runs} runs`,
    '',
    `${heap.runs} completed runs against the RUNNER=memory server (after the measurements above), over raw HTTP with the ` +
      `client's \`generateCopilotResponse\` document and \`Accept: application/json\`; ${heap.tokensPerAnswer}-token answers, ` +
      `${heap.concurrency} runs in flight, ${heap.distinctThreads} distinct threads (the runner keeps ${heap.runnerMaxThreads}, least ` +
      'recently used evicted first). At each sample dispatch pauses until the runs in flight finish; the heap is read after a ' +
      `forced full GC (${heap.gcForced ? 'confirmed by the probe' : '**NOT confirmed by the probe**'}) once right away and once ` +
      'the server has gone idle (its write-behind conversation records stored). Every answer was checked.',
    '',
    row(['runs completed', 'heap used (idle, after GC)', 'heap used (at last response, after GC)', 'RSS (idle)', 'external (idle)', 'segment wall (s)', 'server idle after (s)', 'server warnings / errors (cumulative)']),
    row(['---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
    row(['0 (before)', mib(heap.before.memory?.heapUsed), '', mib(heap.before.memory?.rss), mib(heap.before.memory?.external), '', '', '']),
    ...sampleRows,
    '',
    `Heap used ${mib(heap.before.memory?.heapUsed)} before -> ${mib(heap.after?.heapUsed)} after ${heap.runs} runs; ` +
      `${mibDelta(heap.plateau.growthSecondHalfBytes)} over the second half (${heap.plateau.secondHalfBytesPerRun} B/run), ` +
      `${mibDelta(heap.plateau.growthFirstToLastSampleBytes)} from the first sample to the last: ` +
      `${heap.plateau.bounded ? '**bounded** (plateau)' : '**NOT bounded** (still growing)'} by the rule: ${heap.plateau.rule}. ` +
      '"Before" includes the events of the 1,000-token runs measured above, which the runner still holds until its LRU ' +
      'evicts them during the short runs (so the heap may end lower than it started); "at last response" includes the ' +
      'write-behind queue of conversation records not yet stored.',
    '',
    `Short runs: ${heap.runsPerSecond} runs/s while dispatching, latency median ${fmt(heap.latencyMs.median, 1)} ms / p95 ` +
      `${fmt(heap.latencyMs.p95, 1)} ms / max ${fmt(heap.latencyMs.max, 1)} ms; server CPU ${fmt(heap.serverCpuMsPerRun, 2)} ms per run ` +
      `(write-behind included). Peak server RSS (VmHWM) ${mib(heap.samples.at(-1)?.peakRss)}. Server log over the phase: ` +
      `${heap.samples.at(-1)?.serverWarnings ?? 0} warning(s), ${heap.samples.at(-1)?.serverErrors ?? 0} error(s)` +
      `${heap.serverLog.samples.length ? ` (first ones in the JSON, \`memoryRunnerHeap.serverLog\`)` : ''}. ` +
      `Phase ${(heap.durationMs / 1000).toFixed(1)} s.`,
    '',
    ...(heap.serverLog.samples.length || heap.serverLog.errorSamples.length
      ? [
          `${heap.serverLog.samples.length && heap.serverLog.errorSamples.length ? 'First warning and first error' : heap.serverLog.errorSamples.length ? 'First error' : 'First warning'} the RUNNER=memory server logged:`,
          '',
          '```',
          ...[heap.serverLog.samples[0], heap.serverLog.errorSamples[0]].filter(Boolean).map((line) => line!.replace(/^\[Nest\] \d+\s+-\s+/, '')),
          '```',
          '',
        ]
      : []),
  );

  const checks = (results.checks as Check[] | undefined) ?? [];
  if (checks.length) {
    lines.push('## Checks', '');
    for (const item of checks) lines.push(`- ${item.ok ? 'ok' : item.must ? '**FAILED**' : '**not met**'} (${item.must ? 'must' : 'goal'}) ${item.name}: ${item.detail}`);
    lines.push('');
  }
  return lines;
}

/** The runner comparison and the heap, for the console. */
function runnerSummary(results: Results): string[] {
  const comparison = results.runnerComparison as ComparisonView;
  const heap = results.memoryRunnerHeap as HeapView;
  const { postgres: pg, memory: mem, relativeDifference: rel, goal } = comparison;
  const samples = heap.samples.map((sample) => `${sample.runs}: ${mib(sample.settled?.heapUsed)}`).join(', ');
  return [
    `runners      : tok/s postgres ${fmt(pg.tokensPerSecond.median, 0)} / ${fmt(pg.tokensPerSecond.slowP95, 0)}, memory ${fmt(mem.tokensPerSecond.median, 0)} / ${fmt(mem.tokensPerSecond.slowP95, 0)} (median / slow p95): ${percent(rel.tokensPerSecondMedian)} / ${percent(rel.tokensPerSecondSlowP95)} (goal within ${goal.maxRelativeTokensPerSecondDifference * 100} %: ${goal.medianWithinGoal && goal.slowP95WithinGoal ? 'met' : 'NOT met'})`,
    ...(comparison.headToHead
      ? [
          `runners A/B  : tok/s postgres ${fmt(comparison.headToHead.postgres.median, 0)} / ${fmt(comparison.headToHead.postgres.slowP95, 0)}, memory ${fmt(comparison.headToHead.memory.median, 0)} / ${fmt(comparison.headToHead.memory.slowP95, 0)} (both servers at once, answers alternating, median / slow p95): ${percent(comparison.headToHead.relative.median)} / ${percent(comparison.headToHead.relative.slowP95)} (goal within ${comparison.headToHead.goal.maxRelativeTokensPerSecondDifference * 100} %: ${comparison.headToHead.goal.medianWithinGoal ? 'met' : 'NOT met'} at the median)`,
        ]
      : []),
    `runners CPU  : server CPU ms per 1000-token answer, postgres ${fmt(pg.serverCpuMsPerAnswer, 1)}, memory ${fmt(mem.serverCpuMsPerAnswer, 1)} (${rel.serverCpuMsPerAnswer === null ? 'n/a' : percent(rel.serverCpuMsPerAnswer)})`,
    `runners TTFT : added vs fetch, postgres ${fmt(pg.addedTtftMs.median, 2)} / ${fmt(pg.addedTtftMs.p95, 2)} ms, memory ${fmt(mem.addedTtftMs.median, 2)} / ${fmt(mem.addedTtftMs.p95, 2)} ms (median / p95); paced: postgres ${fmt(pg.pacedAddedTtftMs.median, 2)} / ${fmt(pg.pacedAddedTtftMs.p95, 2)} ms, memory ${fmt(mem.pacedAddedTtftMs.median, 2)} / ${fmt(mem.pacedAddedTtftMs.p95, 2)} ms`,
    ...pg.concurrent.map(
      (item, index) =>
        `runners x${String(item.streams).padEnd(4)}: aggregate tok/s postgres ${item.failed ? 'FAILED' : fmt(item.aggregateTokensPerSecondMedian, 0)}, memory ${mem.concurrent[index]?.failed !== false ? 'FAILED' : fmt(mem.concurrent[index]?.aggregateTokensPerSecondMedian, 0)} (${percent(rel.concurrentAggregateTokensPerSecond[index]?.relative ?? Number.NaN)})`,
    ),
    `memory heap  : ${heap.runs} runs: heap used ${mib(heap.before.memory?.heapUsed)} -> ${mib(heap.after?.heapUsed)} after GC (${samples}); RSS ${mib(heap.before.memory?.rss)} -> ${mib(heap.after?.rss)}; ${heap.plateau.bounded ? 'bounded' : 'NOT bounded'} (${mibDelta(heap.plateau.growthSecondHalfBytes)} over the second half)`,
    `heap runs    : ${heap.runsPerSecond} runs/s, latency ${fmt(heap.latencyMs.median, 1)} / ${fmt(heap.latencyMs.p95, 1)} ms (median / p95), server ${fmt(heap.serverCpuMsPerRun, 2)} CPU ms/run, ${heap.samples.at(-1)?.serverWarnings ?? 0} server warning(s)`,
    `phases       : ${Object.entries((results.phasesMs as Record<string, number>) ?? {}).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(0)} s`).join(', ')}; whole run ${((results.durationMs as number) / 1000).toFixed(0)} s`,
  ];
}

function printSummary(results: Results): void {
  if (results.status !== 'ok') return;
  const single = results.singleStream as {
    runtime: SeriesResult;
    directFetch: SeriesResult;
    directLangChain: SeriesResult;
    addedTtftMs: Record<'vsDirectFetch' | 'vsDirectLangChain', { paired: Summary }>;
  };
  const memory = results.memory as { server: Record<string, MemorySnapshot | number | null> };
  const before = memory.server.beforeRuns as MemorySnapshot | null;
  const after = memory.server.afterRuns as MemorySnapshot | null;
  const afterGc = memory.server.afterRunsAfterFullGc as MemorySnapshot | null;
  const out = [
    '',
    `== stream bench: ${config.tokens} tokens/answer, ${config.runs} runs (median / slow p95); runtime = RUNNER=postgres ==`,
    `runtime      : ${fmt(single.runtime.tokensPerSecond.median, 0)} / ${fmt(single.runtime.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.runtime.ttftMs.median, 2)} / ${fmt(single.runtime.ttftMs.p95, 2)} ms`,
    `direct fetch : ${fmt(single.directFetch.tokensPerSecond.median, 0)} / ${fmt(single.directFetch.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.directFetch.ttftMs.median, 2)} / ${fmt(single.directFetch.ttftMs.p95, 2)} ms`,
    `direct LC    : ${fmt(single.directLangChain.tokensPerSecond.median, 0)} / ${fmt(single.directLangChain.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.directLangChain.ttftMs.median, 2)} / ${fmt(single.directLangChain.ttftMs.p95, 2)} ms`,
    `runtime TTFT : ${fmt(single.runtime.toUpstreamRequestMs.median, 2)} ms until the model request (median), then ${fmt(single.runtime.upstreamRequestToFirstTokenMs.median, 2)} ms to the first token at the client`,
    `added TTFT   : vs fetch ${fmt(single.addedTtftMs.vsDirectFetch.paired.median, 2)} / ${fmt(single.addedTtftMs.vsDirectFetch.paired.p95, 2)} ms (median / p95), vs ChatOpenAI ${fmt(single.addedTtftMs.vsDirectLangChain.paired.median, 2)} / ${fmt(single.addedTtftMs.vsDirectLangChain.paired.p95, 2)} ms`,
    (() => {
      const paced = results.pacedTtft as { runtime: { ttftMs: Summary }; directFetch: { ttftMs: Summary }; addedTtftMs: { vsDirectFetch: Summary } };
      return `paced TTFT   : runtime ${fmt(paced.runtime.ttftMs.median, 2)} / ${fmt(paced.runtime.ttftMs.p95, 2)} ms, direct fetch ${fmt(paced.directFetch.ttftMs.median, 2)} / ${fmt(paced.directFetch.ttftMs.p95, 2)} ms, added ${fmt(paced.addedTtftMs.vsDirectFetch.median, 2)} / ${fmt(paced.addedTtftMs.vsDirectFetch.p95, 2)} ms (median / p95)`;
    })(),
    ...(results.concurrent as ConcurrentOutcome[]).map((item) =>
      isFailedLevel(item)
        ? `x${String(item.streams).padEnd(11)}: FAILED: ${item.error}`
        : `x${String(item.streams).padEnd(11)}: runtime ${fmt(item.runtime.aggregateTokensPerSecond.median, 0)} tok/s aggregate (TTFT p95 ${fmt(item.runtime.perStreamTtftMs.p95, 1)} ms), direct fetch ${fmt(item.directFetch.aggregateTokensPerSecond.median, 0)} tok/s`,
    ),
    ...runnerSummary(results),
    `pg memory    : RSS ${mib(before?.rss)} -> ${mib(after?.rss)} (peak ${mib(memory.server.peakRss as number | null)}), heap ${mib(before?.heapUsed)} -> ${mib(after?.heapUsed)} (${mib(afterGc?.heapUsed)} after full GC)`,
    `results      : ${join('bench', 'results', JSON_FILE)}, ${join('bench', 'results', MARKDOWN_FILE)}`,
    '',
  ];
  console.log(out.join('\n'));
}

// --- checks ------------------------------------------------------------------------------------

interface Check {
  name: string;
  /** A must (exit code 2 when not ok) or a goal (reported only). */
  must: boolean;
  ok: boolean;
  detail: string;
}

function checksOf(results: Results): Check[] {
  const comparison = results.runnerComparison as {
    relativeDifference: { tokensPerSecondMedian: number; tokensPerSecondSlowP95: number };
    goal: { maxRelativeTokensPerSecondDifference: number; medianWithinGoal: boolean; slowP95WithinGoal: boolean };
    headToHead?: HeadToHead;
  };
  const heap = results.memoryRunnerHeap as {
    runs: number;
    gcForced: boolean;
    plateau: { bounded: boolean; growthSecondHalfBytes: number; thresholdBytes: number; secondHalfBytesPerRun: number };
  };
  const failedLevels = (['postgres', 'memory'] as const).flatMap((runner) => {
    const run = runner === 'postgres' ? (results.concurrent as ConcurrentOutcome[]) : (results.runnerComparison as { memoryServer: ServerRun }).memoryServer.concurrent;
    return run.filter(isFailedLevel).map((item) => `RUNNER=${runner} x${item.streams}: ${item.error}`);
  });
  const heapLog = (results.memoryRunnerHeap as { serverLog: { errorSamples: string[] }; samples: HeapSample[] });
  const serverErrors = [
    ['RUNNER=postgres measurements', (results.serverLog as ServerRun['serverLog']).errors],
    ['RUNNER=memory measurements', (results.runnerComparison as { memoryServer: ServerRun }).memoryServer.serverLog.errors],
    ['RUNNER=memory short runs', heapLog.samples.at(-1)?.serverErrors ?? 0],
  ] as const;
  const pct = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %`;
  const goal = comparison.goal.maxRelativeTokensPerSecondDifference;
  return [
    {
      name: 'every concurrent stream completed with the expected answer',
      must: true,
      ok: failedLevels.length === 0,
      detail: failedLevels.length === 0 ? 'yes' : failedLevels.join('; '),
    },
    {
      name: 'the servers logged no errors while measured',
      must: true,
      ok: serverErrors.every(([, count]) => count === 0),
      detail:
        serverErrors.map(([phase, count]) => `${phase}: ${count}`).join(', ') +
        (heapLog.serverLog.errorSamples.length ? `; first of the short runs: ${heapLog.serverLog.errorSamples[0]}` : ''),
    },
    {
      name: 'in-memory runner heap plateaus',
      must: true,
      ok: heap.plateau.bounded && heap.gcForced,
      detail:
        `heap used grew ${mib(heap.plateau.growthSecondHalfBytes)} over the second half of ${heap.runs} runs ` +
        `(${heap.plateau.secondHalfBytesPerRun} B/run; limit ${mib(heap.plateau.thresholdBytes)})` +
        (heap.gcForced ? '' : '; GC was NOT forced'),
    },
    {
      name: `Postgres runner tokens/s within ${goal * 100} % of the in-memory runner (median, head to head)`,
      must: false,
      ok: comparison.headToHead?.goal.medianWithinGoal ?? false,
      detail: comparison.headToHead ? pct(comparison.headToHead.relative.median) : 'not measured',
    },
    {
      name: `Postgres runner tokens/s within ${goal * 100} % of the in-memory runner (median, sequential phases)`,
      must: false,
      ok: comparison.goal.medianWithinGoal,
      detail: pct(comparison.relativeDifference.tokensPerSecondMedian),
    },
    {
      name: `Postgres runner tokens/s within ${goal * 100} % of the in-memory runner (slow p95)`,
      must: false,
      ok: comparison.goal.slowP95WithinGoal,
      detail: pct(comparison.relativeDifference.tokensPerSecondSlowP95),
    },
  ];
}

// --- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const git = gitInfo();
  const answer = benchAnswer(config.tokens);
  const results: Results = {
    status: 'failed',
    schemaVersion: 2,
    generatedAt: new Date().toISOString(),
    config: { ...config, chunkSizeChars: answer.chunkSize, model: MODEL },
    environment: {
      node: process.version,
      platform: `${process.platform} ${release()} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemory: totalmem(),
      loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))),
      gitCommit: git.commit,
      gitDirty: git.dirty,
    },
  };
  await clearResults(RESULTS_DIR);

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
    await Promise.race([
      runBenchmark(results, cleanups, (started) => (server = started), () => quiet),
      deadline,
      interrupted,
    ]);
    results.status = 'ok';
    results.checks = checksOf(results);
    (results.environment as Record<string, unknown>).loadAverageAtEnd = loadavg().map((value) => Number(value.toFixed(2)));
  } catch (error) {
    quiet = true;
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

  const json = await writeResultFile(RESULTS_DIR, JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
  const md = await writeResultFile(RESULTS_DIR, MARKDOWN_FILE, markdown(results));
  printSummary(results);
  console.log(`[bench] wrote ${json} and ${md}`);
  if (results.status !== 'ok') return signalled ? 130 : 1;
  const failedChecks = (results.checks as Check[]).filter((item) => item.must && !item.ok);
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
