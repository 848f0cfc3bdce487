/**
 * Streaming benchmark: 1,000-token answers from aimock, through the built runtime server (a child
 * process), to the real v1 client (`CopilotRuntimeClient.generateCopilotResponse` + `asStream`).
 *
 *   npm run bench            (builds, then runs dist/bench/stream.bench.js)
 *
 * Measures, per answer: tokens/s end to end at the client, time to first token (TTFT) through the
 * runtime vs straight from aimock (raw streaming fetch of the very request the runtime sent, and
 * LangChain's ChatOpenAI configured like the runtime's provider), aggregate tokens/s with several
 * concurrent streams, and the server's memory before and after. Writes
 * bench/results/stream-bench.json and stream-bench.md (fresh each run) and prints a summary.
 *
 * Knobs (environment, all bounded): BENCH_TOKENS (1000), BENCH_RUNS (20), BENCH_WARMUP (3),
 * BENCH_CONCURRENCY ("4,16"), BENCH_BATCHES (3 per concurrency level), BENCH_STREAM_TIMEOUT_MS
 * (60000), BENCH_DEADLINE_MS (300000, the whole run). DATABASE_URL: use that Postgres instead of
 * the embedded default (a fresh temp DATA_DIR). Everything else talks to 127.0.0.1 only.
 * Exit code 0 when the benchmark ran, 1 when it failed (results then carry `status: "failed"`).
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
import { differences, summarize, type Summary } from './lib/stats.js';
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

const config = {
  tokens: intFromEnv('BENCH_TOKENS', 1000, 10, 5000),
  runs: intFromEnv('BENCH_RUNS', 20, 1, 200),
  warmup: intFromEnv('BENCH_WARMUP', 3, 1, 20),
  concurrency: concurrencyFromEnv(),
  batches: intFromEnv('BENCH_BATCHES', 3, 1, 20),
  /** Artificial delay between aimock chunks (0 = the whole answer in one burst, the default). */
  chunkLatencyMs: intFromEnv('BENCH_CHUNK_LATENCY_MS', 0, 0, 20),
  streamTimeoutMs: intFromEnv('BENCH_STREAM_TIMEOUT_MS', 60_000, 1_000, 600_000),
  deadlineMs: intFromEnv('BENCH_DEADLINE_MS', 300_000, 10_000, 1_800_000),
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
  const timings = await Promise.all(Array.from({ length: streams }, (_, index) => start(index)));
  return { wallMs: performance.now() - started, timings };
}

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

async function runBenchmark(results: Results, cleanups: Array<() => Promise<void>>, onServer: (server: ServerProcess) => void): Promise<void> {
  const startedAt = performance.now();
  const answer = benchAnswer(config.tokens);
  const pacedAnswer = benchAnswer(PACED_TOKENS);

  // aimock: no artificial latency, one token per SSE chunk. A bounded journal (the bench reads
  // only the first runtime request from it).
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

  // Database: DATABASE_URL when given, else the embedded default in a fresh temp directory.
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const serverEnv: Record<string, string> = {
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: aimockBaseURL,
    LLM_MODEL: MODEL,
    LLM_MAX_RETRIES: '0',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'text',
  };
  let database: string;
  if (databaseUrl) {
    serverEnv.DATABASE_URL = databaseUrl;
    database = `postgres via DATABASE_URL (${redactUrl(databaseUrl)})`;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'crn-bench-'));
    serverEnv.DATA_DIR = dataDir;
    // Registered before the server's stop (cleanups run in reverse): PGlite must stop first.
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    database = 'embedded PGlite (fresh temp DATA_DIR)';
  }
  (results.environment as Record<string, unknown>).database = database;

  const memory: Record<string, unknown> = { bench: { beforeServer: ownMemory() } };
  results.memory = memory;

  const bootStarted = performance.now();
  const server = await ServerProcess.start({
    entry: SERVER_ENTRY,
    memoryProbe: MEMORY_PROBE,
    cwd: ROOT,
    env: serverEnv,
    path: COPILOTKIT_PATH,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  onServer(server);
  cleanups.push(() => server.stop());
  const bootMs = performance.now() - bootStarted;
  log(`server pid ${server.pid} ready at ${server.url} in ${bootMs.toFixed(0)} ms (${database})`);
  results.server = { bootToReadyMs: Math.round(bootMs), url: server.url };

  const serverMemory: Record<string, unknown> = { beforeRuns: await server.memory() };
  memory.server = serverMemory;

  const client = new CopilotRuntimeClient({ url: server.url });
  const chatModel = benchChatModel(aimockBaseURL, MODEL);
  let runCounter = 0;
  let directCounter = 0;
  const runtimeRun = async (prompt = promptFor) => {
    const key = `rt-${process.pid}-${++runCounter}`;
    return noteUpstream(key, await streamThroughRuntime(client, prompt(key), key, config.streamTimeoutMs));
  };

  // Warm-up: the first runtime run also tells us the exact request the runtime sends the model.
  log(`warm-up: ${config.warmup} run(s) each of runtime, direct fetch, direct ChatOpenAI`);
  check('runtime (warm-up)', await runtimeRun(), answer.text);
  const sent = mock
    .getRequests()
    .filter((entry) => entry.path.endsWith('/chat/completions'))
    .at(-1)?.body as Record<string, unknown> | undefined;
  if (!sent || !Array.isArray(sent.messages)) throw new Error('aimock did not record the runtime request');
  const upstreamMessages = sent.messages as Array<Record<string, unknown>>;
  results.upstreamRequest = {
    model: sent.model,
    stream: sent.stream,
    streamOptions: sent.stream_options ?? null,
    messages: upstreamMessages.map((message) => String(message.role)),
    tools: Array.isArray(sent.tools) ? sent.tools.length : 0,
  };
  // The very request the runtime sent, only the run key in the prompt differs.
  const directFetchRun = async (prompt = promptFor) => {
    const key = `fetch-${++directCounter}`;
    const body = { ...sent, messages: withUserPrompt(upstreamMessages, prompt(key)) };
    return noteUpstream(key, await streamDirectFetch(aimockBaseURL, body, config.streamTimeoutMs));
  };
  const directLangChainRun = async (prompt = promptFor) => {
    const key = `lc-${++directCounter}`;
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
  log(`single stream: ${config.runs} measured run(s) of each`);
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
  results.singleStream = {
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
  results.verification = {
    fixtureTokens: config.tokens,
    clientContentChunks: clientChunks,
    oneClientChunkPerModelToken: chunksConfirmed,
    everyAnswerMatchedTheFixture: true,
  };

  // TTFT with a paced stream: aimock sends a short answer one chunk every few ms, so the first
  // token travels alone instead of at the head of a 1,000-chunk burst.
  log(`paced TTFT: ${PACED_TOKENS}-token answers, ${PACED_CHUNK_LATENCY_MS} ms between chunks, 1 warm-up + ${config.runs} run(s) of each`);
  const paced = { runtime: [] as StreamTiming[], directFetch: [] as StreamTiming[], directLangChain: [] as StreamTiming[] };
  for (let index = -1; index < config.runs; index++) {
    for (let step = 0; step < kinds.length; step++) {
      const [key, label, run] = kinds[(index + kinds.length + step) % kinds.length];
      const timing = check(`${label} (paced)`, await run(pacedPromptFor), pacedAnswer.text);
      if (index >= 0) paced[key].push(timing);
    }
  }
  const pacedTtft = (timings: StreamTiming[]) => ({
    ttftMs: summarize(timings.map((timing) => timing.ttftMs), 2),
    toUpstreamRequestMs: summarize(timings.map((timing) => timing.upstreamMs ?? Number.NaN).filter(Number.isFinite), 2),
    upstreamRequestToFirstTokenMs: summarize(
      timings.map((timing) => timing.ttftMs - (timing.upstreamMs ?? Number.NaN)).filter(Number.isFinite),
      2,
    ),
  });
  const pacedRuntimeTtft = paced.runtime.map((timing) => timing.ttftMs);
  results.pacedTtft = {
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
  const concurrent: ConcurrentResult[] = [];
  results.concurrent = concurrent;
  for (const streams of config.concurrency) {
    log(`concurrency ${streams}: 1 warm-up batch + ${config.batches} measured batch(es) each of runtime and direct fetch`);
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
    concurrent.push({
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
    });
  }

  serverMemory.afterRuns = await server.memory();
  serverMemory.afterRunsAfterFullGc = await server.memory(true);
  serverMemory.peakRss = await server.peakRss();
  (memory.bench as Record<string, unknown>).afterRuns = ownMemory();
  results.runtimeStreams = runCounter;
  results.serverLog = server.logCounts;
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
  for (const item of results.concurrent as ConcurrentResult[]) {
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
      `Whole run ${((results.durationMs as number) / 1000).toFixed(1)} s.`,
    '',
    `Server log during the run: ${(results.serverLog as { warnings: number }).warnings} warning(s), ` +
      `${(results.serverLog as { errors: number }).errors} error(s) (first ones in the JSON, \`serverLog.samples\`).`,
    '',
    'Raw numbers: `stream-bench.json` (same directory).',
    '',
  );
  return lines.join('\n');
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
    `== stream bench: ${config.tokens} tokens/answer, ${config.runs} runs (median / slow p95) ==`,
    `runtime      : ${fmt(single.runtime.tokensPerSecond.median, 0)} / ${fmt(single.runtime.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.runtime.ttftMs.median, 2)} / ${fmt(single.runtime.ttftMs.p95, 2)} ms`,
    `direct fetch : ${fmt(single.directFetch.tokensPerSecond.median, 0)} / ${fmt(single.directFetch.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.directFetch.ttftMs.median, 2)} / ${fmt(single.directFetch.ttftMs.p95, 2)} ms`,
    `direct LC    : ${fmt(single.directLangChain.tokensPerSecond.median, 0)} / ${fmt(single.directLangChain.tokensPerSecond.p5, 0)} tok/s, TTFT ${fmt(single.directLangChain.ttftMs.median, 2)} / ${fmt(single.directLangChain.ttftMs.p95, 2)} ms`,
    `runtime TTFT : ${fmt(single.runtime.toUpstreamRequestMs.median, 2)} ms until the model request (median), then ${fmt(single.runtime.upstreamRequestToFirstTokenMs.median, 2)} ms to the first token at the client`,
    `added TTFT   : vs fetch ${fmt(single.addedTtftMs.vsDirectFetch.paired.median, 2)} / ${fmt(single.addedTtftMs.vsDirectFetch.paired.p95, 2)} ms (median / p95), vs ChatOpenAI ${fmt(single.addedTtftMs.vsDirectLangChain.paired.median, 2)} / ${fmt(single.addedTtftMs.vsDirectLangChain.paired.p95, 2)} ms`,
    (() => {
      const paced = results.pacedTtft as { runtime: { ttftMs: Summary }; directFetch: { ttftMs: Summary }; addedTtftMs: { vsDirectFetch: Summary } };
      return `paced TTFT   : runtime ${fmt(paced.runtime.ttftMs.median, 2)} / ${fmt(paced.runtime.ttftMs.p95, 2)} ms, direct fetch ${fmt(paced.directFetch.ttftMs.median, 2)} / ${fmt(paced.directFetch.ttftMs.p95, 2)} ms, added ${fmt(paced.addedTtftMs.vsDirectFetch.median, 2)} / ${fmt(paced.addedTtftMs.vsDirectFetch.p95, 2)} ms (median / p95)`;
    })(),
    ...(results.concurrent as ConcurrentResult[]).map(
      (item) =>
        `x${String(item.streams).padEnd(11)}: runtime ${fmt(item.runtime.aggregateTokensPerSecond.median, 0)} tok/s aggregate (TTFT p95 ${fmt(item.runtime.perStreamTtftMs.p95, 1)} ms), direct fetch ${fmt(item.directFetch.aggregateTokensPerSecond.median, 0)} tok/s`,
    ),
    `server memory: RSS ${mib(before?.rss)} -> ${mib(after?.rss)} (peak ${mib(memory.server.peakRss as number | null)}), heap ${mib(before?.heapUsed)} -> ${mib(after?.heapUsed)} (${mib(afterGc?.heapUsed)} after full GC)`,
    `results      : ${join('bench', 'results', JSON_FILE)}, ${join('bench', 'results', MARKDOWN_FILE)}`,
    '',
  ];
  console.log(out.join('\n'));
}

// --- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const git = gitInfo();
  const answer = benchAnswer(config.tokens);
  const results: Results = {
    status: 'failed',
    schemaVersion: 1,
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
    await Promise.race([runBenchmark(results, cleanups, (started) => (server = started)), deadline, interrupted]);
    results.status = 'ok';
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
  return results.status === 'ok' ? 0 : signalled ? 130 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('[bench] FAILED:', error);
    process.exit(1);
  },
);
