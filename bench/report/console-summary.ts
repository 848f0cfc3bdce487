/** The summary the bench prints when it is done: the headline figures, one line each. */
import { join } from 'node:path';
import { config } from '../config.js';
import { fmt, JSON_FILE, MARKDOWN_FILE, mib, mibDelta, percent } from '../lib/report.js';
import type { MemorySnapshot } from '../lib/server-process.js';
import { isFailedLevel } from '../phases/concurrent.js';
import { isCompleted, type BenchResults, type CompletedResults } from '../bench-results.js';

/** The runner comparison and the heap, for the console. */
function runnerSummary(results: CompletedResults): string[] {
  const comparison = results.runnerComparison;
  const heap = results.memoryRunnerHeap;
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
    `phases       : ${Object.entries(results.phasesMs ?? {}).map(([name, ms]) => `${name} ${(ms / 1000).toFixed(0)} s`).join(', ')}; whole run ${(results.durationMs / 1000).toFixed(0)} s`,
  ];
}

/** Prints the summary of a completed run (nothing for a failed one: its error was printed already). */
export function printSummary(results: BenchResults): void {
  if (!isCompleted(results)) return;
  const single = results.singleStream;
  const memory = results.memory;
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
      const paced = results.pacedTtft;
      return `paced TTFT   : runtime ${fmt(paced.runtime.ttftMs.median, 2)} / ${fmt(paced.runtime.ttftMs.p95, 2)} ms, direct fetch ${fmt(paced.directFetch.ttftMs.median, 2)} / ${fmt(paced.directFetch.ttftMs.p95, 2)} ms, added ${fmt(paced.addedTtftMs.vsDirectFetch.median, 2)} / ${fmt(paced.addedTtftMs.vsDirectFetch.p95, 2)} ms (median / p95)`;
    })(),
    ...results.concurrent.map((item) =>
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
