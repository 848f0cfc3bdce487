import { GenerateCopilotResponseDocument } from '@copilotkit/runtime-client-gql';
import { print } from 'graphql';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { CLIENT_VERSION_HEADER, type ServerProcess } from './server-process.js';
import { StreamCheckError } from './streams.js';

/**
 * Many short runs over raw HTTP: the real client's `generateCopilotResponse` mutation document and
 * request shape, but `Accept: application/json`, so the runtime answers each run with one complete
 * JSON result (no multipart parsing in the bench, which shares its cores with the server).
 */

/** The published client's version, sent like the client sends it. */
export const CLIENT_VERSION: string = createRequire(import.meta.url)('@copilotkit/runtime-client-gql/package.json').version;

/** The exact mutation document the client sends, as text. */
const GENERATE_COPILOT_RESPONSE = print(GenerateCopilotResponseDocument);

export function shortRunBody(threadId: string, messageId: string, prompt: string): string {
  return JSON.stringify({
    operationName: 'generateCopilotResponse',
    query: GENERATE_COPILOT_RESPONSE,
    variables: {
      data: {
        frontend: { actions: [], url: 'http://127.0.0.1/bench' },
        messages: [{ id: messageId, createdAt: new Date().toISOString(), textMessage: { role: 'user', content: prompt } }],
        metadata: { requestType: 'Chat' },
        threadId,
      },
      properties: {},
    },
  });
}

interface JsonResult {
  errors?: Array<{ message?: string }>;
  data?: {
    generateCopilotResponse?: {
      status?: { code?: string; reason?: string } | null;
      messages?: Array<{ __typename?: string; content?: Array<string | null> | null }> | null;
    } | null;
  };
}

/** One run: POST, read the JSON result, check status and text. Returns the latency in ms. */
export async function shortRun(
  url: string,
  threadId: string,
  key: string,
  prompt: string,
  expectedText: string,
  timeoutMs: number,
): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', [CLIENT_VERSION_HEADER]: CLIENT_VERSION },
    body: shortRunBody(threadId, `bench-user-${key}`, prompt),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const raw = await response.text();
  const elapsed = performance.now() - started;
  let body: JsonResult | null = null;
  try {
    body = JSON.parse(raw) as JsonResult;
  } catch {
    // reported below
  }
  const result = body?.data?.generateCopilotResponse;
  const text = (result?.messages ?? [])
    .filter((message) => message.__typename === 'TextMessageOutput')
    .flatMap((message) => message.content ?? [])
    .join('');
  if (response.status !== 200 || body?.errors?.length || result?.status?.code !== 'Success' || text !== expectedText) {
    throw new StreamCheckError(
      `short run ${key} on ${threadId}: HTTP ${response.status}, status ${JSON.stringify(result?.status ?? null)}, ` +
        `${text === expectedText ? 'text ok' : `text ${JSON.stringify(text.slice(0, 80))}`}; body ${raw.slice(0, 300)}`,
    );
  }
  return elapsed;
}

export interface ShortRunsOptions {
  url: string;
  runs: number;
  concurrency: number;
  /** Distinct threads: run i goes to thread i % threads (threads >= concurrency keeps them apart). */
  threads: number;
  threadPrefix: string;
  prompt: (key: string) => string;
  expectedText: string;
  timeoutMs: number;
  /** Completed-run counts at which dispatch pauses, lets every run in flight finish, and calls onCheckpoint. */
  checkpoints: number[];
  onCheckpoint: (completed: number, segmentWallMs: number) => Promise<void>;
  /** Stops dispatching once set (deadline, signal). */
  cancelled?: () => boolean;
}

/** Runs `runs` short runs, `concurrency` at a time, pausing at each checkpoint. Fails on the first bad run. */
export async function driveShortRuns(options: ShortRunsOptions): Promise<{ latenciesMs: Float64Array; wallMs: number }> {
  const latencies = new Float64Array(options.runs);
  const stops = [...new Set([...options.checkpoints.filter((at) => at > 0 && at < options.runs), options.runs])].sort((a, b) => a - b);
  let next = 0;
  let wallMs = 0;
  for (const stop of stops) {
    const segmentStarted = performance.now();
    let failure: unknown = null;
    const worker = async () => {
      while (failure === null && next < stop && !options.cancelled?.()) {
        const index = next++;
        const key = `${options.threadPrefix}${index}`;
        const threadId = `${options.threadPrefix}thread-${index % options.threads}`;
        try {
          latencies[index] = await shortRun(options.url, threadId, key, options.prompt(key), options.expectedText, options.timeoutMs);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    if (failure !== null) throw failure;
    if (options.cancelled?.()) throw new Error('short runs cancelled');
    const segmentWallMs = performance.now() - segmentStarted;
    wallMs += segmentWallMs;
    await options.onCheckpoint(stop, segmentWallMs);
  }
  return { latenciesMs: latencies, wallMs };
}

/**
 * Waits until the server is idle (CPU below `busyShare` of one core for `quietMs` in a row), so
 * that write-behind work (conversation records) has drained before memory is read. Gives up
 * after `maxMs` and says so.
 */
export async function waitForIdle(
  server: ServerProcess,
  { quietMs = 600, maxMs = 15_000, intervalMs = 200, busyShare = 0.06 } = {},
): Promise<{ idle: boolean; waitedMs: number }> {
  const started = performance.now();
  let quietSince: number | null = null;
  let last = await server.cpuMs();
  let lastAt = performance.now();
  if (last === null) return { idle: false, waitedMs: 0 };
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const now = performance.now();
    const cpu = await server.cpuMs();
    if (cpu === null) return { idle: false, waitedMs: Math.round(now - started) };
    const share = (cpu - last) / (now - lastAt);
    last = cpu;
    lastAt = now;
    if (share <= busyShare) {
      quietSince ??= now;
      if (now - quietSince >= quietMs) return { idle: true, waitedMs: Math.round(now - started) };
    } else {
      quietSince = null;
    }
  }
  return { idle: false, waitedMs: Math.round(performance.now() - started) };
}
