/**
 * Postgres runner vs in-memory runner, from the two sequential server runs: the headline figures
 * of each and their relative differences, (postgres - memory) / memory.
 */
import { config } from './config.js';
import { relative } from './measure.js';
import { isFailedLevel } from './phases/concurrent.js';
import type { HeadToHead } from './phases/head-to-head.js';
import type { ServerRun } from './phases/server-run.js';

export interface RunnerFigures {
  tokensPerSecond: { median: number; slowP95: number };
  ttftMs: { median: number; p95: number };
  addedTtftMs: { median: number; p95: number };
  pacedAddedTtftMs: { median: number; p95: number };
  directFetchTokensPerSecondMedian: number;
  runtimeShareOfCeiling: number;
  serverCpuMsPerAnswer: number | null;
  concurrent: Array<{
    streams: number;
    failed: boolean;
    aggregateTokensPerSecondMedian: number;
    perStreamTtftMsP95: number;
    serverCpuMsPerAnswer: number | null;
  }>;
}

export interface RunnerComparison {
  note: string;
  order: string[];
  postgres: RunnerFigures;
  memory: RunnerFigures;
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
  /** The RUNNER=memory server's whole run (the Postgres one fills the top-level sections). */
  memoryServer: ServerRun;
  /** Added once the head-to-head phase has run. */
  headToHead?: HeadToHead;
}

function runnerFigures(run: ServerRun): RunnerFigures {
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

export function compareRunners(postgres: ServerRun, memory: ServerRun): RunnerComparison {
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
