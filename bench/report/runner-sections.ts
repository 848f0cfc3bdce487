/** The report's sections on the runner comparison, the in-memory runner's heap and the checks. */
import { config, PACED_TOKENS } from '../config.js';
import { fmt, mib, mibDelta, percent, row, signedMs } from '../lib/report.js';
import type { CompletedResults } from '../bench-results.js';

export function runnerSections(results: CompletedResults): string[] {
  const comparison = results.runnerComparison;
  const heap = results.memoryRunnerHeap;
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

  const checks = results.checks ?? [];
  if (checks.length) {
    lines.push('## Checks', '');
    for (const item of checks) lines.push(`- ${item.ok ? 'ok' : item.must ? '**FAILED**' : '**not met**'} (${item.must ? 'must' : 'goal'}) ${item.name}: ${item.detail}`);
    lines.push('');
  }
  return lines;
}

