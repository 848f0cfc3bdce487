import { CopilotKitCore, type CopilotKitCoreConfig } from '@copilotkit/core';
import { eventually } from '../../support/copilot-client.js';

/**
 * Helpers for v2 (AG-UI over SSE) tests: the real frontend core as the React provider uses it,
 * and raw HTTP for exact wire checks.
 */

/**
 * CopilotKitCore only talks to the runtime when it believes it runs in a browser: it checks for
 * `window` on every connection and request (Node 20 has everything else it uses: fetch, streams,
 * AbortController). The embedded database (PGlite, an Emscripten build) makes the same check when
 * it starts and then takes itself for a browser build, so the window must exist only while the
 * clients run: after the runtime (and its database) started, and gone before it stops.
 *
 *   beforeAll: rt = await startRuntimeApp(...); leaveBrowser = pretendBrowser();
 *   afterAll:  leaveBrowser(); await rt.close();
 *
 * Returns the function that removes the window again.
 */
export function pretendBrowser(): () => void {
  const global = globalThis as { window?: unknown };
  if (global.window !== undefined) throw new Error('pretendBrowser: a window already exists (a previous one not removed?)');
  global.window = globalThis;
  return () => {
    delete global.window;
  };
}

/** A core connected to the runtime (its `/info` answered), as `<CopilotKitProvider>` builds it. */
export async function connectedCore(config: CopilotKitCoreConfig): Promise<CopilotKitCore> {
  if ((globalThis as { window?: unknown }).window === undefined) {
    throw new Error('connectedCore: call pretendBrowser() first (after the runtime started), or the core stays offline');
  }
  const core = new CopilotKitCore(config);
  await eventually(() => {
    if (core.runtimeConnectionStatus !== 'connected') throw new Error(`runtime status ${core.runtimeConnectionStatus}`);
  }, 5000);
  return core;
}

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
}

export async function send(
  url: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  const response = await fetch(url, { method: init.method ?? 'POST', body: init.body, headers: init.headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export const JSON_HEADERS = { 'content-type': 'application/json' };
export const SSE_HEADERS = { 'content-type': 'application/json', accept: 'text/event-stream' };

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  return send(url, { body: JSON.stringify(body), headers: { ...SSE_HEADERS, ...headers } });
}

/** A RunAgentInput with the required arrays. */
export function runInput(input: {
  threadId: string;
  runId: string;
  messages?: unknown[];
  tools?: unknown[];
  context?: unknown[];
  state?: unknown;
  forwardedProps?: unknown;
}): Record<string, unknown> {
  return { messages: [], tools: [], context: [], ...input };
}

export function userMessage(id: string, content: string) {
  return { id, role: 'user' as const, content };
}

/** The events (`data:` JSON) and comments of an SSE body. */
export function parseSse(text: string): { events: Array<Record<string, any>>; comments: string[] } {
  const events: Array<Record<string, any>> = [];
  const comments: string[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''));
    if (data.length > 0) events.push(JSON.parse(data.join('\n')));
    else comments.push(...block.split('\n').filter((line) => line.startsWith(':')).map((line) => line.slice(1).trim()));
  }
  return { events, comments };
}

/** Event types in order, for a readable comparison. */
export const types = (events: Array<Record<string, any>>): string[] => events.map((event) => String(event.type));

/** An event as upstream would have sent it: without our `timestamp`. */
export function withoutTimestamp<T extends Record<string, any>>(event: T): Omit<T, 'timestamp'> {
  const { timestamp: _timestamp, ...rest } = event;
  return rest;
}

/**
 * An SSE request read as it streams: `next(type)` waits for the first event of that type, `done`
 * resolves with everything once the stream ends, `abort()` hangs up.
 */
export function openStream(url: string, body: unknown, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const events: Array<Record<string, any>> = [];
  const waiters: Array<{ type: string; resolve: (event: Record<string, any>) => void }> = [];
  const response = fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { ...SSE_HEADERS, ...headers },
    signal: controller.signal,
  });
  const done = (async () => {
    const reply = await response;
    let raw = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of reply.body as unknown as AsyncIterable<Uint8Array>) {
        raw += decoder.decode(chunk, { stream: true });
        const end = raw.lastIndexOf('\n\n');
        if (end < 0) continue;
        const complete = raw.slice(0, end + 2);
        raw = raw.slice(end + 2);
        for (const event of parseSse(complete).events) {
          events.push(event);
          for (const waiter of waiters.filter((w) => w.type === event.type)) waiter.resolve(event);
        }
      }
    } catch (error) {
      if ((error as Error).name !== 'AbortError') throw error;
    }
    return { status: reply.status, headers: reply.headers, events };
  })();
  done.catch(() => undefined);
  return {
    response,
    events,
    done,
    next(type: string): Promise<Record<string, any>> {
      const seen = events.find((event) => event.type === type);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, resolve }));
    },
    abort: () => controller.abort(),
  };
}
