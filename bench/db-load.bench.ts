/**
 * Database load of many paced runs on ONE instance: N runs at once, each streaming TOKENS text
 * deltas at RATE per second through the run core (admission, event log, lock heartbeat, run end)
 * on PostgreSQL with the default pool (10 connections), or on the in-memory runner. No HTTP, no
 * model: what is measured is what the runner asks of the database.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
 *     node --import ./test/support/ts-loader/register.mjs bench/db-load.bench.ts
 *
 * Knobs: DB_LOAD_LEVELS ("200,400"), DB_LOAD_TOKENS (200), DB_LOAD_RATE (20 tokens/s),
 * DB_LOAD_RUNNERS ("postgres,memory"), DB_LOAD_POOL (10), DB_LOAD_LOCK_TTL_MS (30000),
 * DB_LOAD_RAMP_MS (0: all runs start at once; else arrivals spread over that time).
 * Prints, per runner and level: statements per second by kind (counted at the pg driver), runs
 * failed and how, p99 lateness of a token against its schedule, and process CPU per answer.
 */
import { randomBytes } from 'node:crypto';
import { EventType, type BaseEvent } from '@ag-ui/core';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { PersistenceModule } from '../src/persistence/persistence.module.js';
import { AGENT_RUNNER, type AgentRunner, type RunStartRequest } from '../src/runs/agent-runner.js';
import { RunsModule } from '../src/runs/runs.module.js';
import { withScratchDatabase } from './lib/scratch-database.js';

const serverUrl = process.env.DATABASE_URL;
const levels = (process.env.DB_LOAD_LEVELS ?? '200,400').split(',').map(Number);
const tokens = Number(process.env.DB_LOAD_TOKENS ?? 200);
const rate = Number(process.env.DB_LOAD_RATE ?? 20);
const runners = (process.env.DB_LOAD_RUNNERS ?? 'postgres,memory').split(',') as Array<'postgres' | 'memory'>;
const poolSize = Number(process.env.DB_LOAD_POOL ?? 10);
const lockTtlMs = Number(process.env.DB_LOAD_LOCK_TTL_MS ?? 30_000);
/** Arrivals spread evenly over this many ms (0: every run starts at once, a herd). */
const rampMs = Number(process.env.DB_LOAD_RAMP_MS ?? 0);

type Kind = 'append' | 'renew' | 'finish' | 'admit' | 'other';
const statements: Record<Kind, number> = { append: 0, renew: 0, finish: 0, admit: 0, other: 0 };

/** Counts every statement any pooled client sends, by what it does. */
function countStatements(): void {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0];
    const text = typeof config === 'string' ? config : ((config as { text?: string } | undefined)?.text ?? '');
    if (/UPDATE thread_locks SET expires_at/.test(text)) statements.renew += 1;
    else if (/WITH finished AS/.test(text)) statements.finish += 1;
    else if (/INSERT INTO run_event_batches/.test(text)) statements.append += 1;
    else if (/WITH owned AS/.test(text)) statements.admit += 1;
    else statements.other += 1;
    return query.apply(this, args);
  } as never;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** A paced answer: one delta every 1000/rate ms, on a schedule; lateness is measured against it. */
function pacedBody(threadId: string, runId: string, lateness: number[], tokens: number) {
  return async function* body(signal: AbortSignal): AsyncGenerator<BaseEvent> {
    yield { type: EventType.RUN_STARTED, threadId, runId } as BaseEvent;
    yield { type: EventType.TEXT_MESSAGE_START, messageId: `m-${runId}`, role: 'assistant' } as BaseEvent;
    const start = performance.now();
    const every = 1000 / rate;
    for (let i = 0; i < tokens; i++) {
      const due = start + i * every;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (signal.aborted) throw new Error('aborted');
      lateness.push(Math.max(0, performance.now() - due));
      yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId: `m-${runId}`, delta: 'token ' } as BaseEvent;
    }
    yield { type: EventType.TEXT_MESSAGE_END, messageId: `m-${runId}` } as BaseEvent;
    yield { type: EventType.RUN_FINISHED, threadId, runId } as BaseEvent;
  };
}

async function boot(runner: 'postgres' | 'memory', url: string | null): Promise<INestApplicationContext> {
  const runs = RunsModule.forRoot({ runner, lockTtlMs });
  @Module({
    imports: runner === 'postgres' ? [PersistenceModule.forRoot({ url: url!, poolSize }), runs] : [runs],
  })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return app;
}

async function level(runner: AgentRunner, concurrency: number, tokensPerRun = tokens) {
  const tag = randomBytes(3).toString('hex');
  const lateness: number[] = [];
  const failures: Record<string, number> = {};
  const fail = (code: string) => (failures[code] = (failures[code] ?? 0) + 1);
  for (const kind of Object.keys(statements) as Kind[]) statements[kind] = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      if (rampMs > 0 && tokensPerRun === tokens) await sleep((i * rampMs) / concurrency);
      const threadId = `bench-${tag}-${i}`;
      const runId = `${threadId}-r1`;
      const request: RunStartRequest = {
        ctx: {
          requestId: `req-${i}`,
          identity: { id: 'bench-owner', anonymous: false },
          headers: {},
          signal: new AbortController().signal,
          log: { requestId: `req-${i}` },
        },
        threadId,
        runId,
        agentName: null,
        model: 'bench',
        inputMessages: [{ id: `u-${runId}`, role: 'user', content: 'hi' }],
        body: pacedBody(threadId, runId, lateness, tokensPerRun),
        onCallerGone: 'abort',
        usage: () => null,
      } as RunStartRequest;
      try {
        const session = await runner.run(request);
        let last: BaseEvent | null = null;
        for await (const logged of session.events) last = logged.event;
        if (last?.type === EventType.RUN_ERROR) fail((last as { code?: string }).code ?? 'RUN_ERROR');
      } catch (error) {
        fail((error as { code?: string }).code ?? 'THROWN');
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  lateness.sort((a, b) => a - b);
  return {
    concurrency,
    seconds: Number(seconds.toFixed(1)),
    perSecond: Object.fromEntries(
      (Object.keys(statements) as Kind[]).map((kind) => [kind, Math.round(statements[kind] / seconds)]),
    ),
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    failures,
    latenessP99Ms: Math.round(percentile(lateness, 99)),
    cpuMsPerAnswer: Number(((cpu.user + cpu.system) / 1000 / concurrency).toFixed(2)),
  };
}

function withDatabase<T>(use: (url: string) => Promise<T>): Promise<T> {
  return withScratchDatabase(serverUrl!, 'crn_db_load', use);
}

async function main(): Promise<void> {
  countStatements();
  for (const runnerKind of runners) {
    const run = async (url: string | null) => {
      const app = await boot(runnerKind, url);
      try {
        const runner = app.get<AgentRunner>(AGENT_RUNNER);
        // Warm-up (JIT, pool, prepared statements), not reported.
        await level(runner, Math.min(50, levels[0]!), 20);
        for (const concurrency of levels) {
          const result = await level(runner, concurrency);
          console.log(JSON.stringify({ runner: runnerKind, pool: poolSize, tokens, rate, ...result }));
        }
      } finally {
        await app.close();
      }
    };
    if (runnerKind === 'postgres') {
      if (!serverUrl) throw new Error('DATABASE_URL (a PostgreSQL server) is required for the postgres runner');
      await withDatabase(run);
    } else {
      await run(null);
    }
  }
}

await main();
