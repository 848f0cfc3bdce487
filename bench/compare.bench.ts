/**
 * Side by side with the servers we replace: the same aimock, the same real clients, ours and
 * upstream's servers alternating round by round, reported as ratios (absolute numbers drift on
 * shared machines; ratios taken in one run do not).
 *
 *   npm run bench:compare      (builds, installs the upstream servers into bench/upstream/ when
 *                               missing, then runs dist/bench/compare.bench.js)
 *
 * v1: the real `CopilotRuntimeClient` against ours and `@copilotkit/runtime@1.10.6` (OpenAI
 * adapter). v2: `@ag-ui/client`'s `HttpAgent` on `agent/default/run` against ours and
 * `@copilotkit/runtime@1.75.0` (built-in agent). Two answer profiles from aimock: `burst` (1,000
 * tokens, one per SSE event, no pause) and `paced` (100 tokens, one every 20 ms, ~50 tokens/s per
 * stream), at 1, 20 and 100 concurrent streams. Per round and server: deltas/s at the clients,
 * time to first token minus aimock's own, server CPU per answer (/proc), the clients' CPU per
 * answer (this process; aimock runs in a child of its own), multipart parts or SSE frames per
 * answer, server memory. Results: bench/results/compare-bench.{json,md}.
 *
 * Knobs: COMPARE_PROTOCOLS (v1,v2), COMPARE_PROFILES (burst,paced), COMPARE_LEVELS (1,20,100),
 * COMPARE_ROUNDS (3), COMPARE_SEQUENTIAL_ANSWERS (5, for level 1), COMPARE_TOKENS (1000),
 * COMPARE_PACED_TOKENS (100), COMPARE_PACED_INTERVAL_MS (20), COMPARE_WARMUP (5 per profile),
 * COMPARE_SETTLE (100 burst answers per server and protocol before any cell),
 * COMPARE_DEADLINE_MS. DATABASE_URL: our server's PostgreSQL (else the embedded default, which
 * shares our server's CPU: use a real PostgreSQL for figures worth quoting).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BenchChild } from './compare/child-process.js';
import type { Protocol } from './compare/drivers.js';
import { compareAnswer, promptFor, type ProfileName } from './compare/profiles.js';
import { writeCompareResults, type CompareResults } from './compare/report.js';
import { measureRound, warmUp, type RoundResult } from './compare/rounds.js';
import { AIMOCK_CHILD, RESULTS_DIR, ROOT, settings } from './compare/settings.js';
import { cellOf, targetChecks } from './compare/summary.js';
import { ensureUpstreamInstalled, startOurs, startUpstream, type ServerName, type Target } from './compare/targets.js';
import { installWireCounter } from './compare/wire-counter.js';
import { measureTtftFloor } from './compare/floor.js';
import { serverEnvironment } from './context.js';
import { streamDirectFetch } from './lib/streams.js';
import { guardChildren } from './lib/child-guard.js';

const MODEL = 'gpt-4o-mini';
const log = (line: string) => console.log(`[compare] ${line}`);

/**
 * aimock's own time to first token: the fastest of 10 direct requests after 3 warm-up ones (the
 * floor; a median would carry the machine's noise into every "added" figure).
 */
async function baselineTtft(aimockBaseURL: string, profile: ProfileName): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < 13; index++) {
    const timing = await streamDirectFetch(
      aimockBaseURL,
      { model: MODEL, messages: [{ role: 'user', content: promptFor(profile, `baseline-${index}`) }] },
      settings.streamTimeoutMs,
    );
    if (index >= 3) samples.push(timing.ttftMs);
  }
  return Math.min(...samples);
}

async function compareOn(protocol: Protocol, ours: Target, upstream: Target, aimockBaseURL: string, baselines: Record<ProfileName, number>, results: CompareResults): Promise<void> {
  const answers = { burst: compareAnswer(settings.tokens), paced: compareAnswer(settings.pacedTokens) };
  for (const target of [ours, upstream]) await warmUp(target, protocol, 'burst', answers.burst, settings, 'settle');
  for (const profile of settings.profiles) {
    for (const target of [ours, upstream]) await warmUp(target, protocol, profile, answers[profile], settings);
    for (const level of settings.levels) {
      const rounds: Record<ServerName, RoundResult[]> = { ours: [], upstream: [] };
      for (let round = 0; round < settings.rounds; round++) {
        const order = round % 2 === 0 ? [ours, upstream] : [upstream, ours];
        for (const target of order) rounds[target.server].push(await measureRound(target, protocol, profile, level, answers[profile], settings));
      }
      const floor = await measureTtftFloor(aimockBaseURL, MODEL, profile, level, answers[profile], baselines[profile], settings);
      const cell = cellOf(protocol, profile, level, rounds, baselines[profile], floor);
      results.cells.push(cell);
      log(
        `${protocol} ${profile} ×${level}: deltas/s ${cell.ours.deltasPerSecond} vs ${cell.upstream.deltasPerSecond} (${cell.ratios.deltasPerSecond}×), ` +
          `server CPU/answer ${cell.ours.serverCpuMsPerAnswer} vs ${cell.upstream.serverCpuMsPerAnswer} ms (${cell.ratios.serverCpuPerAnswer}×), ` +
          `added TTFT p50 ${cell.ours.addedTtftP50Ms} vs ${cell.upstream.addedTtftP50Ms} ms (aimock alone ${floor.addedTtftP50Ms}), frames/answer ${cell.ours.framesPerAnswer} vs ${cell.upstream.framesPerAnswer}` +
          (cell.ours.failed || cell.upstream.failed ? `, FAILED ${cell.ours.failed} / ${cell.upstream.failed}` : ''),
      );
    }
  }
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const results: CompareResults = {
    status: 'failed',
    startedAt: new Date().toISOString(),
    environment: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverageAtStart: loadavg().map((value) => Number(value.toFixed(2))) },
    settings: { ...settings },
    servers: {},
    baselineTtftMs: {},
    cells: [],
    targets: [],
  };
  const cleanups: Array<() => Promise<void>> = [];
  const deadline = guardChildren('compare', { ms: settings.deadlineMs, variable: 'COMPARE_DEADLINE_MS' });
  try {
    for (const protocol of settings.protocols) ensureUpstreamInstalled(protocol, log);
    installWireCounter();
    const aimock = await BenchChild.start<{ url: string }>({
      name: 'aimock',
      args: [AIMOCK_CHILD],
      cwd: ROOT,
      env: {
        COMPARE_TOKENS: String(settings.tokens),
        COMPARE_PACED_TOKENS: String(settings.pacedTokens),
        COMPARE_PACED_INTERVAL_MS: String(settings.pacedIntervalMs),
      },
      ready: (line) => (line.startsWith('{') ? (JSON.parse(line) as { url: string }) : undefined),
      readyTimeoutMs: 30_000,
    });
    cleanups.push(() => aimock.stop());
    const aimockBaseURL = `${aimock.readyValue.url}/v1`;
    for (const profile of settings.profiles) results.baselineTtftMs[profile] = Number((await baselineTtft(aimockBaseURL, profile)).toFixed(2));
    const baselines = { burst: results.baselineTtftMs.burst ?? 0, paced: results.baselineTtftMs.paced ?? 0 };

    const { serverEnv, database } = await serverEnvironment(aimockBaseURL, cleanups);
    results.environment.database = database;
    for (const protocol of settings.protocols) {
      // A fresh process of each server per protocol. Ours serves both protocols, and kept running
      // it would meet the second protocol warm (JIT, grown heap) against a cold upstream: the
      // first protocol's cells would pay its warm-up and the second's would not.
      const ours = await startOurs({ ...serverEnv, LOG_LEVEL: 'warn' });
      cleanups.push(() => ours.process.stop());
      results.servers.ours = ours.target.label;
      log(`ours at ${ours.target.baseUrl} (${database}) for ${protocol}`);
      const upstream = await startUpstream(protocol, aimockBaseURL, MODEL);
      results.servers[`upstream ${protocol}`] = upstream.label;
      log(`upstream ${protocol} (${upstream.label}) at ${upstream.baseUrl}`);
      try {
        await compareOn(protocol, ours.target, upstream, aimockBaseURL, baselines, results);
      } finally {
        await upstream.stop();
        await ours.process.stop();
      }
    }
    results.targets = targetChecks(results.cells);
    results.status = 'completed';
  } catch (error) {
    results.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`[compare] FAILED: ${results.error}`);
  } finally {
    clearTimeout(deadline);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error('[compare] cleanup failed:', error));
    results.durationMs = Math.round(performance.now() - startedAt);
    await writeCompareResults(RESULTS_DIR, results);
    log(`results in bench/results/compare-bench.{json,md}`);
  }
  for (const check of results.targets) log(`${check.met ? 'met    ' : 'NOT MET'} ${check.target} — ${check.cell}: ${check.value}${check.context ? ` (${check.context})` : ''}`);
  return results.status === 'completed' ? 0 : 1;
}

process.exitCode = await main();
