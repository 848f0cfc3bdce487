/**
 * bench/results/stream-bench.md: the results as a report a reader can follow, section by section
 * (the default runner's measurements, then the runner comparison and the heap).
 */
import { deployedCommandLine, deployedEnvironment, deployedNodeFlags, type MemorySnapshot } from '../lib/server-process.js';
import { ROOT } from '../config.js';
import { fmt, mib, row } from '../lib/report.js';
import type { SeriesResult } from '../measure.js';
import { isFailedLevel } from '../phases/concurrent.js';
import { isCompleted, type BenchResults } from '../bench-results.js';
import { runnerSections } from './runner-sections.js';

export function markdown(results: BenchResults): string {
  const lines: string[] = ['# Streaming benchmark (`npm run bench`)', ''];
  const env = results.environment;
  lines.push(
    `Generated ${results.generatedAt} on ${env.cpus} x ${env.cpuModel}, Node ${env.node}, ${env.database}; ` +
      `commit ${env.gitCommit ?? 'n/a'}${env.gitDirty ? ' (with uncommitted changes)' : ''}; ` +
      `load average ${JSON.stringify(env.loadAverageAtStart)} at start${env.loadAverageAtEnd ? `, ${JSON.stringify(env.loadAverageAtEnd)} at end` : ''} ` +
      '(other work on the machine skews the numbers).',
    '',
  );
  if (!isCompleted(results)) {
    lines.push(`**The run FAILED:** ${results.error}`, '');
    return lines.join('\n');
  }
  const { config: cfg, singleStream: single, pacedTtft: paced, verification } = results;
  lines.push(
    `${cfg.tokens}-token answers from aimock (${cfg.chunkLatencyMs ? `${cfg.chunkLatencyMs} ms between chunks` : 'no artificial latency: the whole answer in one burst'}, one token per SSE chunk), ` +
      `${cfg.runs} measured runs after ${cfg.warmup} warm-up runs, interleaved. The server runs as a separate ` +
      `process, as \`start:prod\` starts it (\`${deployedCommandLine({ nodeEnv: deployedEnvironment(ROOT), nodeFlags: deployedNodeFlags(ROOT) })}\`); ` +
      'the bench process holds aimock and the clients. ' +
      `The real client's \`content\` array held ${verification.clientContentChunks.min}..${verification.clientContentChunks.max} chunks per answer` +
      `${verification.oneClientChunkPerModelToken ? ' (one per model token)' : ' (NOT one per model token)'}.`,
    '',
    'The sections up to "Server memory" measure the default runner, **RUNNER=postgres** (event log and thread locks in ' +
      'Postgres); "Postgres runner vs in-memory runner" repeats the same protocol on a second server with RUNNER=memory.',
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
  for (const item of results.concurrent) {
    if (isFailedLevel(item)) {
      lines.push(row([item.streams, `**FAILED**: ${item.error.replace(/\|/g, '/')}`, '', '', '', '', '']));
      continue;
    }
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
  const memory = results.memory;
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
      `Whole run ${(results.durationMs / 1000).toFixed(1)} s (` +
      Object.entries(results.phasesMs ?? {})
        .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
        .join(', ') +
      ').',
    '',
    `Server log during these measurements (RUNNER=postgres server): ${results.serverLog.warnings} warning(s), ` +
      `${results.serverLog.errors} error(s) (first ones in the JSON, \`serverLog.samples\`).`,
    '',
    ...runnerSections(results),
    'Raw numbers: `stream-bench.json` (same directory).',
    '',
  );
  return lines.join('\n');
}
