/**
 * What a completed run is judged by: the musts (exit code 2 when one fails) and the runner goal
 * (reported only).
 */
import { mib } from './lib/report.js';
import { isFailedLevel } from './phases/concurrent.js';
import type { CompletedResults } from './bench-results.js';

export interface Check {
  name: string;
  /** A must (exit code 2 when not ok) or a goal (reported only). */
  must: boolean;
  ok: boolean;
  detail: string;
}

export function checksOf(results: CompletedResults): Check[] {
  const comparison = results.runnerComparison;
  const heap = results.memoryRunnerHeap;
  const failedLevels = (['postgres', 'memory'] as const).flatMap((runner) => {
    const run = runner === 'postgres' ? results.concurrent : comparison.memoryServer.concurrent;
    return run.filter(isFailedLevel).map((item) => `RUNNER=${runner} x${item.streams}: ${item.error}`);
  });
  const serverErrors = [
    ['RUNNER=postgres measurements', results.serverLog.errors],
    ['RUNNER=memory measurements', comparison.memoryServer.serverLog.errors],
    ['RUNNER=memory short runs', heap.samples.at(-1)?.serverErrors ?? 0],
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
        (heap.serverLog.errorSamples.length ? `; first of the short runs: ${heap.serverLog.errorSamples[0]}` : ''),
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
