/**
 * Scale on one instance, measured as a new user would (issue 15): v2 runs through the real
 * `@ag-ui/client` `HttpAgent`, each a 600-token answer paced at 20 tokens/s by
 * `@copilotkit/aimock` (processes of its own), against ONE instance of our server (a process of
 * its own, started with the flags of `start:prod`) on real PostgreSQL with the default pool, at
 * 200, 400 and 1,000 concurrent streams. Then the memory of a subscriber to a live thread
 * (graphql-ws `threadEvents`, v2 SSE `connect`).
 *
 *   npm run bench:scale     (builds, then runs dist/bench/scale.bench.js)
 *
 * Per level: failures by error code, inter-token lateness p50/p99 (observed gap minus the paced
 * interval), added TTFT p50/p99 (minus aimock's own), server CPU per paced token (/proc), server
 * RSS, database transactions (pg_stat_database), and the issue's targets as met / not met.
 * The clients run in worker processes (one per 250 streams, at least 2), so the bench process
 * is not the bottleneck; each level reports its clients' event-loop delay to show it.
 *
 * Knobs: SCALE_LEVELS (200,400,1000), SCALE_TOKENS (600), SCALE_INTERVAL_MS (50), SCALE_RAMP_MS
 * (2000), SCALE_CLIENT_WORKERS (0: automatic), SCALE_MOCK_WORKERS (2), SCALE_SUBSCRIBERS (500,
 * 0 skips), SCALE_SUBSCRIBER_THREADS (10), SCALE_STREAM_TIMEOUT_MS, SCALE_DEADLINE_MS.
 * DATABASE_URL: the server's PostgreSQL (else the embedded default, which shares the server's
 * CPU: not what the targets are about). DATABASE_POOL_SIZE is left at the server's default
 * unless set. MAX_CONCURRENT_RUNS is raised to the largest level (its default, 100, would refuse
 * the rest with OVERLOADED: an operator sizing for 1,000 streams sets it).
 * Results: bench/results/scale-bench.{json,md}.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startMockCluster } from './scale/mock-cluster.js';
import { compareAnswer } from './compare/profiles.js';
import { startOurs } from './compare/targets.js';
import { serverEnvironment } from './context.js';
import { deployedEnvironment, deployedNodeFlags } from './lib/server-process.js';
import { runLevel } from './scale/levels.js';
import { targetChecks, writeScaleResults, type ScaleResults } from './scale/report.js';
import { promptFor, RESULTS_DIR, ROOT, settings } from './scale/settings.js';
import { measureSubscribers } from './scale/subscribers.js';
import { guardChildren } from './lib/child-guard.js';

const MODEL = 'gpt-4o-mini';
const log = (line: string) => console.log(`[scale] ${line}`);
const load = () => loadavg().map((value) => Number(value.toFixed(2)));

/** aimock's own time to the first content chunk of the paced answer: the fastest of 5. */
async function baselineTtft(aimockBaseURL: string): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < 6; index++) {
    const controller = new AbortController();
    const started = performance.now();
    const response = await fetch(`${aimockBaseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
      body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: promptFor('paced', `baseline-${index}`) }] }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
      if (/"content":"[^"]/.test(seen)) break;
    }
    if (index > 0) samples.push(performance.now() - started);
    controller.abort();
    await reader.cancel().catch(() => undefined);
  }
  return Math.min(...samples);
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const databaseUrl = process.env.DATABASE_URL?.trim() || null;
  const results: ScaleResults = {
    status: 'failed',
    startedAt: new Date().toISOString(),
    environment: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverageAtStart: load() },
    settings: { ...settings },
    server: { label: '', nodeEnv: deployedEnvironment(ROOT), nodeFlags: deployedNodeFlags(ROOT), database: '', poolSize: process.env.DATABASE_POOL_SIZE ?? 'default (10)' },
    baselineTtftMs: null,
    levels: [],
    subscriberMemory: null,
    targets: [],
  };
  if (!databaseUrl) log('DATABASE_URL is not set: the embedded database shares the server CPU; the targets are about a real PostgreSQL.');
  const cleanups: Array<() => Promise<void>> = [];
  const deadline = guardChildren('scale', { ms: settings.deadlineMs, variable: 'SCALE_DEADLINE_MS' });
  try {
    const aimock = await startMockCluster({ SCALE_TOKENS: String(settings.tokens), SCALE_INTERVAL_MS: String(settings.intervalMs), SCALE_MOCK_WORKERS: String(settings.mockWorkers) });
    cleanups.push(() => aimock.stop());
    const aimockBaseURL = `${aimock.url}/v1`;
    results.baselineTtftMs = Number((await baselineTtft(aimockBaseURL)).toFixed(2));

    const { serverEnv, database } = await serverEnvironment(aimockBaseURL, cleanups);
    results.server.database = database;
    const maxLevel = Math.max(...settings.levels);
    const ours = await startOurs({
      ...serverEnv,
      LOG_LEVEL: 'warn',
      MAX_CONCURRENT_RUNS: String(Math.max(maxLevel, settings.subscriberThreads)),
      WS_MAX_SOCKETS_PER_IDENTITY: String(Math.max(50, settings.subscribers + 10)),
    });
    cleanups.push(() => ours.process.stop());
    results.server.label = ours.target.label;
    log(`server at ${ours.target.baseUrl} (${database}; node ${results.server.nodeFlags.join(' ')}); aimock TTFT ${results.baselineTtftMs} ms`);

    const answer = compareAnswer(settings.tokens);
    for (const level of settings.levels) {
      const result = await runLevel(
        level,
        {
          baseUrl: ours.target.baseUrl,
          serverPid: ours.process.pid!,
          mockPids: aimock.pids,
          databaseUrl,
          prompt: promptFor('paced', '{key}'),
          expected: answer.text,
          tokenWidth: answer.chunkSize,
          baselineTtftMs: results.baselineTtftMs,
        },
        settings,
        `scale-${level}-${process.pid}-${Date.now()}`,
      );
      result.loadAverage = load();
      results.levels.push(result);
      log(
        `${level} streams: ${result.failed} failed ${JSON.stringify(result.failuresByCode)}, gap lateness p50/p99 ${result.gapLatenessMs.p50}/${result.gapLatenessMs.p99} ms, ` +
          `added TTFT p50/p99 ${result.addedTtftMs.p50}/${result.addedTtftMs.p99} ms, server ${result.serverCpuUsPerToken} µs/token (${result.serverCoreShare} cores), ` +
          `RSS peak ${Math.round((result.serverRssPeakBytes ?? 0) / 1048576)} MB, DB xacts ${result.database?.transactions ?? 'n/a'}, client loop delay p99 ${result.clientEventLoopDelayP99Ms} ms, load ${result.loadAverage.join(' ')}`,
      );
      if (ours.process.logCounts.errorSamples.length) log(`server errors so far: ${ours.process.logCounts.errors}; first: ${ours.process.logCounts.errorSamples[0]}`);
    }
    if (settings.subscribers > 0) {
      results.subscriberMemory = await measureSubscribers(ours.process, settings.subscribers, settings.subscriberThreads, log);
      const memory = results.subscriberMemory;
      const kb = (bytes: number | null) => (bytes === null ? 'n/a' : (bytes / 1024).toFixed(1));
      log(`subscriber memory: idle socket ${kb(memory.idleSocketBytes)} KB, graphql-ws subscriber ${kb(memory.graphqlWsSubscriberBytes)} KB, SSE connect ${kb(memory.sseSubscriberBytes)} KB`);
    }
    results.status = 'completed';
  } catch (error) {
    results.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`[scale] FAILED: ${results.error}`);
  } finally {
    clearTimeout(deadline);
    results.targets = targetChecks(results.levels, results.subscriberMemory);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('[scale] cleanup failed:', error));
    results.durationMs = Math.round(performance.now() - startedAt);
    await writeScaleResults(RESULTS_DIR, results);
    log('results in bench/results/scale-bench.{json,md}');
  }
  for (const check of results.targets) log(`${check.met ? 'met    ' : 'NOT MET'} ${check.target}: ${check.value}`);
  return results.status === 'completed' ? 0 : 1;
}

process.exitCode = await main();
