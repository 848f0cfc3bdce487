/**
 * One level of the scale bench: `level` paced v2 streams against one server, their clients spread
 * over worker processes, with the server's CPU, RSS and database transactions counted around it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { processCpuMs, processRssBytes } from '../lib/server-process.js';
import type { WorkerJob, WorkerResult } from './client-worker.js';
import { DIST_SCALE, type ScaleSettings } from './settings.js';

export interface LevelResult {
  streams: number;
  clientWorkers: number;
  completed: number;
  failed: number;
  failuresByCode: Record<string, number>;
  failureSamples: string[];
  wallMs: number;
  tokensDelivered: number;
  gapLatenessMs: { p50: number; p99: number; max: number };
  scheduleLatenessMs: { p50: number; p99: number; max: number };
  addedTtftMs: { p50: number; p99: number };
  serverCpuMs: number | null;
  serverCpuUsPerToken: number | null;
  /** Share of one core the server used over the level. */
  serverCoreShare: number | null;
  serverRssPeakBytes: number | null;
  serverRssEndBytes: number | null;
  mockCpuMs: number | null;
  clientCpuMs: number;
  /** The clients' worst event-loop delay p99 / max across workers: high values mean the bench lagged. */
  clientEventLoopDelayP99Ms: number;
  clientEventLoopDelayMaxMs: number;
  database: { transactions: number; transactionsPerStream: number; transactionsPerSecond: number; rowsWritten: number } | null;
  loadAverage: number[];
}

export interface LevelTargets {
  baseUrl: string;
  serverPid: number;
  mockPids: number[];
  databaseUrl: string | null;
  prompt: string;
  expected: string;
  tokenWidth: number;
  baselineTtftMs: number;
}

interface DatabaseCounters {
  transactions: number;
  rowsWritten: number;
}

async function databaseCounters(databaseUrl: string): Promise<DatabaseCounters | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    // Statistics reach pg_stat_database when a backend reports them (at most once a second).
    const { rows } = await client.query<{ xacts: string; rows: string }>(
      `SELECT xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS rows
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return rows[0] ? { transactions: Number(rows[0].xacts), rowsWritten: Number(rows[0].rows) } : null;
  } catch {
    return null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sumCpuMs(pids: number[]): Promise<number | null> {
  const values = await Promise.all(pids.map((pid) => processCpuMs(pid)));
  return values.every((value) => value !== null) ? values.reduce<number>((sum, value) => sum + value!, 0) : null;
}

function startWorker(): Promise<ChildProcess> {
  const child = fork(join(DIST_SCALE, 'client-worker.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => ((message as { type?: string })?.type === 'ready' ? resolve(child) : reject(new Error('client worker spoke first'))));
    child.once('exit', (code) => reject(new Error(`client worker exited (${code}) before it was ready`)));
  });
}

function runJob(child: ChildProcess, job: WorkerJob): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if ((message as { type?: string })?.type === 'result') resolve(message as WorkerResult);
    });
    child.once('exit', (code) => reject(new Error(`client worker exited (${code}) before answering`)));
    child.send(job);
  });
}

/** Nearest-rank percentile of sorted values. */
function stat(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return Number(sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!.toFixed(1));
}

export function workersFor(level: number, settings: ScaleSettings): number {
  return settings.clientWorkers > 0 ? settings.clientWorkers : Math.max(2, Math.ceil(level / 250));
}

export async function runLevel(level: number, targets: LevelTargets, settings: ScaleSettings, label: string): Promise<LevelResult> {
  const workerCount = Math.min(workersFor(level, settings), level);
  const workers = await Promise.all(Array.from({ length: workerCount }, () => startWorker()));
  try {
    const jobs: WorkerJob[] = workers.map(() => ({
      type: 'job',
      baseUrl: targets.baseUrl,
      streams: [],
      prompt: targets.prompt,
      expected: targets.expected,
      tokenWidth: targets.tokenWidth,
      intervalMs: settings.intervalMs,
      timeoutMs: settings.streamTimeoutMs,
    }));
    for (let index = 0; index < level; index++) {
      jobs[index % workerCount]!.streams.push({ key: `${label}-${index}`, startAtMs: (index * settings.rampMs) / level });
    }

    const dbBefore = targets.databaseUrl ? await databaseCounters(targets.databaseUrl) : null;
    const serverCpuBefore = await processCpuMs(targets.serverPid);
    const mockCpuBefore = await sumCpuMs(targets.mockPids);
    let rssPeak: number | null = null;
    const sampler = setInterval(() => {
      void processRssBytes(targets.serverPid).then((rss) => {
        if (rss !== null) rssPeak = Math.max(rssPeak ?? 0, rss);
      });
    }, 500);
    const startedAt = performance.now();
    const results = await Promise.all(workers.map((worker, index) => runJob(worker, jobs[index]!)));
    const wallMs = performance.now() - startedAt;
    clearInterval(sampler);
    const serverCpuAfter = await processCpuMs(targets.serverPid);
    const mockCpuAfter = await sumCpuMs(targets.mockPids);
    const rssEnd = await processRssBytes(targets.serverPid);
    // Let the server's backends report their last transactions.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const dbAfter = targets.databaseUrl ? await databaseCounters(targets.databaseUrl) : null;

    const concat = (pick: (result: WorkerResult) => Float64Array) => {
      const all = new Float64Array(results.reduce((sum, result) => sum + pick(result).length, 0));
      let offset = 0;
      for (const result of results) {
        all.set(pick(result), offset);
        offset += pick(result).length;
      }
      return all.sort();
    };
    const ttft = concat((result) => result.ttftMs).map((value) => value - targets.baselineTtftMs);
    const gap = concat((result) => result.gapLatenessMs);
    const schedule = concat((result) => result.scheduleLatenessMs);
    const failuresByCode: Record<string, number> = {};
    for (const result of results) for (const [code, count] of Object.entries(result.failures)) failuresByCode[code] = (failuresByCode[code] ?? 0) + count;
    const tokens = results.reduce((sum, result) => sum + result.tokens, 0);
    const completed = results.reduce((sum, result) => sum + result.completed, 0);
    const serverCpuMs = serverCpuBefore !== null && serverCpuAfter !== null ? serverCpuAfter - serverCpuBefore : null;
    const transactions = dbBefore && dbAfter ? dbAfter.transactions - dbBefore.transactions : null;
    return {
      streams: level,
      clientWorkers: workerCount,
      completed,
      failed: level - completed,
      failuresByCode,
      failureSamples: [...new Map(results.flatMap((result) => result.failureSamples).map((sample) => [sample.split(':')[0], sample])).values()],
      wallMs: Math.round(wallMs),
      tokensDelivered: tokens,
      gapLatenessMs: { p50: stat(gap, 50), p99: stat(gap, 99), max: stat(gap, 100) },
      scheduleLatenessMs: { p50: stat(schedule, 50), p99: stat(schedule, 99), max: stat(schedule, 100) },
      addedTtftMs: { p50: stat(ttft, 50), p99: stat(ttft, 99) },
      serverCpuMs,
      serverCpuUsPerToken: serverCpuMs !== null && tokens > 0 ? Math.round((serverCpuMs * 1000) / tokens) : null,
      serverCoreShare: serverCpuMs !== null ? Number((serverCpuMs / wallMs).toFixed(2)) : null,
      serverRssPeakBytes: rssPeak,
      serverRssEndBytes: rssEnd,
      mockCpuMs: mockCpuBefore !== null && mockCpuAfter !== null ? Math.round(mockCpuAfter - mockCpuBefore) : null,
      clientCpuMs: Math.round(results.reduce((sum, result) => sum + result.cpuMs, 0)),
      clientEventLoopDelayP99Ms: Number(Math.max(...results.map((result) => result.eventLoopDelayP99Ms)).toFixed(1)),
      clientEventLoopDelayMaxMs: Number(Math.max(...results.map((result) => result.eventLoopDelayMaxMs)).toFixed(1)),
      database:
        transactions !== null && dbBefore && dbAfter
          ? {
              transactions,
              transactionsPerStream: Number((transactions / level).toFixed(1)),
              transactionsPerSecond: Math.round((transactions * 1000) / wallMs),
              rowsWritten: dbAfter.rowsWritten - dbBefore.rowsWritten,
            }
          : null,
      loadAverage: [],
    };
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
  }
}
