/**
 * aimock, the model the runtime streams from: the three fixtures the phases ask for (the long
 * answer, the paced short one, the heap phase's short one), and the note of when each run's model
 * request arrived.
 */
import { LLMock } from '@copilotkit/aimock';
import type { Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  benchAnswer,
  config,
  HEAP_MARKER,
  PACED_CHUNK_LATENCY_MS,
  PACED_MARKER,
  PACED_TOKENS,
  PROMPT_MARKER,
  type BenchAnswer,
} from './config.js';
import { runKeyOf, type StreamTiming } from './lib/streams.js';

export interface Aimock {
  mock: LLMock;
  /** The OpenAI-compatible base URL (`.../v1`). */
  baseURL: string;
  answer: BenchAnswer;
  pacedAnswer: BenchAnswer;
  heapAnswer: BenchAnswer;
  /** Adds `upstreamMs` (request issued -> aimock received the model request) to a run's timing. */
  noteUpstream: (key: string, timing: StreamTiming) => StreamTiming;
  /** The idle keep-alive timeout given to aimock's server, null when it could not be set. */
  keepAliveTimeoutMs: number | null;
}

/** Starts aimock on loopback; its stop is pushed onto `cleanups`. */
export async function startAimock(cleanups: Array<() => Promise<void>>): Promise<Aimock> {
  const answer = benchAnswer(config.tokens);
  const pacedAnswer = benchAnswer(PACED_TOKENS);
  const heapAnswer = benchAnswer(config.heapTokens);

  // aimock: no artificial latency, one token per SSE chunk. A bounded journal (the bench reads
  // only the last runtime request from it).
  // The response factory runs when aimock matches a request: it notes when each run's model
  // request arrived (same clock as the clients), which splits TTFT into "before the model call"
  // and "after it".
  const arrivals = new Map<string, number>();
  const mock = new LLMock({ port: 0, host: '127.0.0.1', journalMaxEntries: 50, logLevel: 'silent' });
  mock.onMessage(
    PROMPT_MARKER,
    (request) => {
      const key = runKeyOf(request.messages as Array<{ role?: string; content?: unknown }>);
      if (key && arrivals.size < 10_000) arrivals.set(key, performance.now());
      return { content: answer.text };
    },
    { chunkSize: answer.chunkSize, ...(config.chunkLatencyMs ? { latency: config.chunkLatencyMs } : {}) },
  );
  mock.onMessage(
    PACED_MARKER,
    (request) => {
      const key = runKeyOf(request.messages as Array<{ role?: string; content?: unknown }>);
      if (key && arrivals.size < 10_000) arrivals.set(key, performance.now());
      return { content: pacedAnswer.text };
    },
    { chunkSize: pacedAnswer.chunkSize, latency: PACED_CHUNK_LATENCY_MS },
  );
  // The heap phase's short answers: nothing noted per run.
  mock.onMessage(HEAP_MARKER, { content: heapAnswer.text }, { chunkSize: heapAnswer.chunkSize });
  const noteUpstream = (key: string, timing: StreamTiming): StreamTiming => {
    const arrived = arrivals.get(key);
    arrivals.delete(key);
    return { ...timing, upstreamMs: arrived === undefined ? Number.NaN : arrived - timing.startedAt };
  };
  await mock.start();
  cleanups.push(() => mock.stop());
  const keepAliveTimeoutMs = extendKeepAlive(mock);
  return { mock, baseURL: `${mock.url}/v1`, answer, pacedAnswer, heapAnswer, noteUpstream, keepAliveTimeoutMs };
}

/**
 * aimock's HTTP server closes idle keep-alive connections after Node's default 5 s and, because
 * it sets `Connection: keep-alive` itself, sends no `Keep-Alive: timeout=` hint; undici (the
 * runtime's fetch) keeps idle sockets for 4 s on a coarse timer. Under load (16 streams on 2
 * cores) the runtime then sometimes reuses a socket aimock is closing and the model call fails
 * with "other side closed" (fatal with LLM_MAX_RETRIES=0). Hosted APIs keep connections open far
 * longer, so the mock is given a 65 s idle timeout, as load balancers commonly use. The server is
 * not public API: reached defensively, and left alone if its shape differs.
 */
function extendKeepAlive(mock: LLMock): number | null {
  const server = (mock as unknown as { serverInstance?: { server?: Partial<Pick<HttpServer, 'keepAliveTimeout' | 'headersTimeout'>> } })
    .serverInstance?.server;
  if (!server || typeof server.keepAliveTimeout !== 'number') return null;
  server.keepAliveTimeout = 65_000;
  if (typeof server.headersTimeout === 'number' && server.headersTimeout <= 65_000) server.headersTimeout = 66_000;
  return server.keepAliveTimeout;
}
