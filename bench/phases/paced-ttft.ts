/**
 * Phase: TTFT with a paced stream. aimock sends a short answer one chunk every few ms, so the first
 * token travels alone instead of at the head of a 1,000-chunk burst: this isolates the runtime's
 * fixed per-request overhead.
 */
import { config, PACED_CHUNK_LATENCY_MS, PACED_TOKENS, pacedPromptFor, type Runner } from '../config.js';
import type { BenchContext } from '../context.js';
import { differences, summarize, type Summary } from '../lib/stats.js';
import type { StreamTiming } from '../lib/streams.js';
import { log } from '../log.js';
import { check } from '../measure.js';
import { INTERLEAVED_PATHS, type PathName, type StreamPaths } from '../stream-paths.js';

export interface PacedSeries {
  ttftMs: Summary;
  toUpstreamRequestMs: Summary;
  upstreamRequestToFirstTokenMs: Summary;
}

export interface PacedResult {
  note: string;
  tokens: number;
  chunkLatencyMs: number;
  runtime: PacedSeries;
  directFetch: PacedSeries;
  directLangChain: PacedSeries;
  addedTtftMs: { vsDirectFetch: Summary; vsDirectLangChain: Summary };
}

function pacedSeries(timings: StreamTiming[]): PacedSeries {
  return {
    ttftMs: summarize(timings.map((timing) => timing.ttftMs), 2),
    toUpstreamRequestMs: summarize(timings.map((timing) => timing.upstreamMs ?? Number.NaN).filter(Number.isFinite), 2),
    upstreamRequestToFirstTokenMs: summarize(
      timings.map((timing) => timing.ttftMs - (timing.upstreamMs ?? Number.NaN)).filter(Number.isFinite),
      2,
    ),
  };
}

export async function measurePacedTtft(ctx: BenchContext, runner: Runner, paths: StreamPaths): Promise<PacedResult> {
  log(`[${runner}] paced TTFT: ${PACED_TOKENS}-token answers, ${PACED_CHUNK_LATENCY_MS} ms between chunks, 1 warm-up + ${config.runs} run(s) of each`);
  const paced: Record<PathName, StreamTiming[]> = { runtime: [], directFetch: [], directLangChain: [] };
  const count = INTERLEAVED_PATHS.length;
  // Iteration -1 is the warm-up round: run and checked, not recorded.
  for (let index = -1; index < config.runs; index++) {
    for (let step = 0; step < count; step++) {
      const [key, label] = INTERLEAVED_PATHS[(index + count + step) % count];
      const timing = check(`${label} (paced)`, await paths[key](pacedPromptFor), ctx.pacedAnswer.text);
      if (index >= 0) paced[key].push(timing);
    }
  }
  const pacedRuntimeTtft = paced.runtime.map((timing) => timing.ttftMs);
  return {
    note: `${PACED_TOKENS}-token answers, aimock waits ${PACED_CHUNK_LATENCY_MS} ms before each chunk; TTFT only`,
    tokens: PACED_TOKENS,
    chunkLatencyMs: PACED_CHUNK_LATENCY_MS,
    runtime: pacedSeries(paced.runtime),
    directFetch: pacedSeries(paced.directFetch),
    directLangChain: pacedSeries(paced.directLangChain),
    addedTtftMs: {
      vsDirectFetch: summarize(differences(pacedRuntimeTtft, paced.directFetch.map((timing) => timing.ttftMs)), 2),
      vsDirectLangChain: summarize(differences(pacedRuntimeTtft, paced.directLangChain.map((timing) => timing.ttftMs)), 2),
    },
  };
}
