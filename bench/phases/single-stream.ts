/**
 * Phase: single stream. `config.runs` answers on each path, interleaved (the order rotates every
 * iteration) so that drift (GC, JIT, the embedded database) hits all three alike.
 */
import { config, promptFor, type Runner } from '../config.js';
import type { BenchContext } from '../context.js';
import type { ServerProcess } from '../lib/server-process.js';
import { differences, summarize, type Summary } from '../lib/stats.js';
import type { StreamTiming } from '../lib/streams.js';
import { log } from '../log.js';
import { check, series, type SeriesResult } from '../measure.js';
import { INTERLEAVED_PATHS, type PathName, type StreamPaths } from '../stream-paths.js';

export interface AddedTtft {
  paired: Summary;
  differenceOfMedians: number;
  differenceOfP95: number;
}

export interface SingleStreamResult {
  runtime: SeriesResult;
  directFetch: SeriesResult;
  directLangChain: SeriesResult;
  addedTtftMs: {
    note: string;
    vsDirectFetch: AddedTtft;
    vsDirectLangChain: AddedTtft;
  };
  serverCpuMsPerRuntimeAnswer: number | null;
  clientSnapshotsPerRuntimeAnswer: Summary;
  runtimeShareOfCeiling: number;
}

export interface Verification {
  fixtureTokens: number;
  clientContentChunks: { min: number; max: number };
  oneClientChunkPerModelToken: boolean;
  everyAnswerMatchedTheFixture: true;
}

export async function measureSingleStream(
  ctx: BenchContext,
  runner: Runner,
  server: ServerProcess,
  paths: StreamPaths,
): Promise<{ singleStream: SingleStreamResult; verification: Verification }> {
  log(`[${runner}] single stream: ${config.runs} measured run(s) of each`);
  const single: Record<PathName, StreamTiming[]> = { runtime: [], directFetch: [], directLangChain: [] };
  const serverCpuBefore = await server.cpuMs();
  for (let index = 0; index < config.runs; index++) {
    for (let step = 0; step < INTERLEAVED_PATHS.length; step++) {
      const [key, label] = INTERLEAVED_PATHS[(index + step) % INTERLEAVED_PATHS.length];
      const cpu = process.cpuUsage();
      const timing = await paths[key](promptFor);
      const used = process.cpuUsage(cpu);
      single[key].push(check(label, { ...timing, callerCpuMs: (used.user + used.system) / 1000 }, ctx.answer.text));
    }
  }
  const serverCpuAfter = await server.cpuMs();
  const runtimeSeries = series(single.runtime, config.tokens);
  const fetchSeries = series(single.directFetch, config.tokens);
  const langChainSeries = series(single.directLangChain, config.tokens);
  const clientChunks = runtimeSeries.contentChunksAtCaller;
  const chunksConfirmed = clientChunks.min === config.tokens && clientChunks.max === config.tokens;
  if (!chunksConfirmed) {
    log(
      `WARNING: the client's content array held ${clientChunks.min}..${clientChunks.max} chunks, not ` +
        `${config.tokens}: the runtime re-chunks the stream (tokens/s still counts the model's ${config.tokens} tokens)`,
    );
  }
  const runtimeTtft = single.runtime.map((timing) => timing.ttftMs);
  const singleStream: SingleStreamResult = {
    runtime: runtimeSeries,
    directFetch: fetchSeries,
    directLangChain: langChainSeries,
    addedTtftMs: {
      note:
        'runtime TTFT minus direct TTFT, paired per iteration (same iteration, back to back); ' +
        'differenceOfMedians / differenceOfP95 compare the two distributions instead',
      vsDirectFetch: {
        paired: summarize(differences(runtimeTtft, single.directFetch.map((timing) => timing.ttftMs)), 2),
        differenceOfMedians: Number((runtimeSeries.ttftMs.median - fetchSeries.ttftMs.median).toFixed(2)),
        differenceOfP95: Number((runtimeSeries.ttftMs.p95 - fetchSeries.ttftMs.p95).toFixed(2)),
      },
      vsDirectLangChain: {
        paired: summarize(differences(runtimeTtft, single.directLangChain.map((timing) => timing.ttftMs)), 2),
        differenceOfMedians: Number((runtimeSeries.ttftMs.median - langChainSeries.ttftMs.median).toFixed(2)),
        differenceOfP95: Number((runtimeSeries.ttftMs.p95 - langChainSeries.ttftMs.p95).toFixed(2)),
      },
    },
    serverCpuMsPerRuntimeAnswer:
      serverCpuBefore !== null && serverCpuAfter !== null
        ? Number(((serverCpuAfter - serverCpuBefore) / config.runs).toFixed(1))
        : null,
    clientSnapshotsPerRuntimeAnswer: summarize(single.runtime.map((timing) => timing.snapshots ?? Number.NaN), 0),
    runtimeShareOfCeiling: Number((runtimeSeries.tokensPerSecond.median / fetchSeries.tokensPerSecond.median).toFixed(4)),
  };
  const verification: Verification = {
    fixtureTokens: config.tokens,
    clientContentChunks: clientChunks,
    oneClientChunkPerModelToken: chunksConfirmed,
    everyAnswerMatchedTheFixture: true,
  };
  return { singleStream, verification };
}
