/**
 * Phase: head to head. Both runners' servers up at the same time, single-stream answers alternating
 * between them (pg, mem, mem, pg, ...): whatever drifts on the machine during the bench (other
 * load, CPU frequency, caches, GC) hits both alike. The sequential phases give each runner's whole
 * picture, but one after the other they also compare two moments; this is the comparison the
 * tokens/s goal is judged on.
 */
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { config, promptFor, type Runner } from '../config.js';
import { startServer, type BenchContext } from '../context.js';
import type { ServerProcess } from '../lib/server-process.js';
import { streamThroughRuntime, type StreamTiming } from '../lib/streams.js';
import { log } from '../log.js';
import { check, relative, series } from '../measure.js';

export interface HeadToHead {
  note: string;
  runs: number;
  postgres: { median: number; slowP95: number };
  memory: { median: number; slowP95: number };
  relative: { median: number; slowP95: number };
  goal: { maxRelativeTokensPerSecondDifference: number; medianWithinGoal: boolean; slowP95WithinGoal: boolean };
}

export async function headToHead(ctx: BenchContext): Promise<HeadToHead> {
  const runners: Runner[] = ['postgres', 'memory'];
  const servers: Partial<Record<Runner, ServerProcess>> = {};
  try {
    for (const runner of runners) servers[runner] = await startServer(ctx, runner);
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
