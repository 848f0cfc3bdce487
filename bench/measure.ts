/**
 * The arithmetic every phase shares: checking a streamed answer against the fixture, tokens/s,
 * summarising a series of streams, running a batch of concurrent streams, relative differences.
 */
import { performance } from 'node:perf_hooks';
import { summarize, type Summary } from './lib/stats.js';
import { StreamCheckError, type StreamTiming } from './lib/streams.js';

export function tokensPerSecond(tokens: number, ms: number): number {
  return (tokens / ms) * 1000;
}

/** (postgres - memory) / memory, rounded: negative = the Postgres runner is lower. */
export function relative(postgres: number, memory: number): number {
  return Number(((postgres - memory) / memory).toFixed(4));
}

export function check(kind: string, timing: StreamTiming, expected: string): StreamTiming {
  if (timing.text !== expected) {
    const at = [...timing.text].findIndex((char, index) => char !== expected[index]);
    throw new StreamCheckError(
      `${kind}: the streamed text differs from the fixture (got ${timing.text.length} chars, expected ` +
        `${expected.length}; first difference at ${at < 0 ? timing.text.length : at})`,
    );
  }
  if (timing.ttftMs < 0) throw new StreamCheckError(`${kind}: no content chunk was seen`);
  return timing;
}

export interface SeriesResult {
  runs: number;
  tokensPerSecond: Summary;
  ttftMs: Summary;
  totalMs: Summary;
  /** Request issued -> aimock received the model request. */
  toUpstreamRequestMs: Summary;
  /** aimock received the model request -> first content chunk at the caller. */
  upstreamRequestToFirstTokenMs: Summary;
  /** CPU ms of the bench process (client + aimock) per answer. */
  callerCpuMs: Summary;
  contentChunksAtCaller: { min: number; max: number };
}

export function series(timings: StreamTiming[], tokens: number): SeriesResult {
  return {
    runs: timings.length,
    tokensPerSecond: summarize(timings.map((timing) => tokensPerSecond(tokens, timing.totalMs)), 1),
    ttftMs: summarize(timings.map((timing) => timing.ttftMs), 2),
    totalMs: summarize(timings.map((timing) => timing.totalMs), 1),
    toUpstreamRequestMs: summarize(timings.map((timing) => timing.upstreamMs ?? Number.NaN).filter(Number.isFinite), 2),
    upstreamRequestToFirstTokenMs: summarize(
      timings.map((timing) => timing.ttftMs - (timing.upstreamMs ?? Number.NaN)).filter(Number.isFinite),
      2,
    ),
    callerCpuMs: summarize(timings.map((timing) => timing.callerCpuMs ?? Number.NaN).filter(Number.isFinite), 1),
    contentChunksAtCaller: {
      min: Math.min(...timings.map((timing) => timing.chunks)),
      max: Math.max(...timings.map((timing) => timing.chunks)),
    },
  };
}

export interface Batch {
  wallMs: number;
  timings: StreamTiming[];
}

/** `streams` streams at once; the wall time is the whole batch's. */
export async function batch(streams: number, start: (index: number) => Promise<StreamTiming>): Promise<Batch> {
  const started = performance.now();
  // Every stream settles before a failure is reported: none is left running into the next phase.
  const settled = await Promise.allSettled(Array.from({ length: streams }, (_, index) => start(index)));
  const wallMs = performance.now() - started;
  const failed = settled.filter((outcome) => outcome.status === 'rejected');
  if (failed.length > 0) {
    const first = (failed[0] as PromiseRejectedResult).reason as unknown;
    const message = first instanceof Error ? `${first.name}: ${first.message}` : String(first);
    throw new StreamCheckError(`${failed.length} of ${streams} concurrent stream(s) failed; the first: ${message}`);
  }
  return { wallMs, timings: settled.map((outcome) => (outcome as PromiseFulfilledResult<StreamTiming>).value) };
}
