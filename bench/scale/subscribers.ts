/**
 * The memory of a subscriber to a live thread, measured in the server process (heapUsed +
 * external after a full GC, through the bench's memory probe): `threads` long runs are started
 * and kept live, then N subscribers join them, spread evenly, and stay until measured.
 * - idle graphql-ws socket: connected and acknowledged, no operation;
 * - graphql-ws subscriber: one such socket with one `threadEvents` subscription (the socket
 *   included; the subscription alone is given too);
 * - v2 SSE subscriber: one `agent/default/connect` stream (its HTTP connection included).
 * Each subscriber is counted once it has received its first event.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { MemorySnapshot, ServerProcess } from '../lib/server-process.js';
import { promptFor } from './settings.js';

export interface SubscriberMemory {
  subscribers: number;
  threads: number;
  /** (heapUsed + external) delta per idle graphql-ws socket, bytes. */
  idleSocketBytes: number | null;
  /** Per graphql-ws socket with one threadEvents subscription (socket included), bytes. */
  graphqlWsSubscriberBytes: number | null;
  /** The subscription alone (the above minus the idle socket), bytes. */
  graphqlWsSubscriptionBytes: number | null;
  /** Per v2 SSE connect stream, bytes. */
  sseSubscriberBytes: number | null;
  /** The same per subscriber in RSS (noisier: the allocator keeps freed pages), bytes. */
  rssPerGraphqlWsSubscriber: number | null;
  rssPerSseSubscriber: number | null;
  gcForced: boolean;
  notes: string[];
}

const live = (snapshot: MemorySnapshot | null) => (snapshot ? snapshot.heapUsed + snapshot.external : null);

async function settledMemory(server: ServerProcess): Promise<MemorySnapshot | null> {
  // Two probes a moment apart, the second kept: in-flight events of the first are collected by then.
  await server.memory(true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return server.memory(true);
}

function perSubscriber(after: MemorySnapshot | null, before: MemorySnapshot | null, count: number, pick = live): number | null {
  const a = pick(after);
  const b = pick(before);
  return a !== null && b !== null && count > 0 ? Math.round((a - b) / count) : null;
}

/** Starts a long run on a thread and reads its stream until `signal` aborts; resolves at its first text. */
export async function startLongRun(baseUrl: string, threadId: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${baseUrl}/agent/default/run`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      threadId,
      runId: `run-${threadId}`,
      state: {},
      messages: [{ id: `user-${threadId}`, role: 'user', content: promptFor('long', threadId) }],
      tools: [],
      context: [],
      forwardedProps: {},
    }),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`long run on ${threadId}: HTTP ${response.status} ${await response.text()}`);
  await readUntil(response.body, 'TEXT_MESSAGE_CONTENT', signal);
}

/** Streams read past their first marker and not ended yet (to check that subscribers stayed). */
export const openStreams = { count: 0, endedEarly: 0 };

/** Reads a byte stream until `marker` appears, then keeps draining it in the background. */
async function readUntil(body: ReadableStream<Uint8Array>, marker: string, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended before ${marker}`);
    seen += decoder.decode(value, { stream: true });
    if (seen.includes(marker)) break;
    if (seen.length > 65_536) seen = seen.slice(-1024);
  }
  openStreams.count++;
  void (async () => {
    try {
      while (!signal.aborted && !(await reader.read()).done);
    } catch {
      // aborted
    } finally {
      openStreams.count--;
      if (!signal.aborted) openStreams.endedEarly++;
    }
  })();
}

export function openSocket(wsUrl: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', function onAck(data) {
      const message = JSON.parse(String(data)) as { type?: string };
      if (message.type === 'connection_ack') {
        socket.off('message', onAck);
        resolve(socket);
      }
    });
    socket.once('close', (code, reason) => reject(new Error(`socket closed ${code} ${String(reason)}`)));
  });
}

export function subscribe(socket: WebSocket, threadId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type?: string; payload?: unknown };
      if (message.type === 'next') resolve();
      if (message.type === 'error') reject(new Error(`threadEvents refused: ${JSON.stringify(message.payload)}`));
    });
    socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: 'subscription Follow($threadId: String!) { threadEvents(threadId: $threadId) { __typename } }', variables: { threadId } },
      }),
    );
  });
}

export async function connectStream(baseUrl: string, threadId: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${baseUrl}/agent/default/connect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ threadId, runId: `connect-${threadId}`, state: {}, messages: [], tools: [], context: [], forwardedProps: {} }),
    signal,
  });
  if (!response.ok || !response.body) throw new Error(`connect to ${threadId}: HTTP ${response.status} ${await response.text()}`);
  await readUntil(response.body, 'TEXT_MESSAGE_CONTENT', signal);
}

/** Runs `count` tasks, at most `width` at a time. */
export async function inBatches(count: number, width: number, task: (index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < count; start += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, offset) => task(start + offset)));
  }
}

export async function measureSubscribers(server: ServerProcess, count: number, threads: number, log: (line: string) => void): Promise<SubscriberMemory> {
  const baseUrl = server.url;
  const wsUrl = baseUrl.replace(/^http/, 'ws');
  const runs = new AbortController();
  const notes: string[] = [];
  const threadIds = Array.from({ length: threads }, (_, index) => `scale-sub-${process.pid}-${Date.now()}-${index}`);
  const started = performance.now();
  try {
    await Promise.all(threadIds.map((threadId) => startLongRun(baseUrl, threadId, runs.signal)));
    log(`subscribers: ${threads} long runs live (${Math.round(performance.now() - started)} ms)`);

    // Warm-up: the first subscribers of each kind compile code and fill caches once for all.
    const warm = new AbortController();
    const warmSockets: WebSocket[] = [];
    await inBatches(Math.min(count, 50), 50, async (index) => {
      const socket = await openSocket(wsUrl);
      warmSockets.push(socket);
      await subscribe(socket, threadIds[index % threads]!);
      await connectStream(baseUrl, threadIds[index % threads]!, warm.signal);
    });
    warm.abort();
    for (const socket of warmSockets) socket.close(1000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const endedBefore = openStreams.endedEarly;

    // graphql-ws: idle sockets, then one threadEvents subscription on each.
    const base = await settledMemory(server);
    const sockets: WebSocket[] = [];
    await inBatches(count, 50, async () => void sockets.push(await openSocket(wsUrl)));
    const idle = await settledMemory(server);
    await inBatches(count, 50, (index) => subscribe(sockets[index]!, threadIds[index % threads]!));
    const subscribed = await settledMemory(server);
    await Promise.all(
      sockets.map((socket) => new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : (socket.once('close', () => resolve()), socket.close(1000))))),
    );
    log(`subscribers: ${count} graphql-ws sockets measured`);

    // v2 SSE connect.
    const streams = new AbortController();
    const sseBase = await settledMemory(server);
    await inBatches(count, 50, (index) => connectStream(baseUrl, threadIds[index % threads]!, streams.signal));
    const sse = await settledMemory(server);
    streams.abort();
    log(`subscribers: ${count} SSE connect streams measured`);

    if (openStreams.endedEarly > endedBefore) notes.push(`${openStreams.endedEarly - endedBefore} streams ended before they were measured: the figures are low.`);
    const rss = (snapshot: MemorySnapshot | null) => snapshot?.rss ?? null;
    const idleSocketBytes = perSubscriber(idle, base, count);
    const graphqlWsSubscriberBytes = perSubscriber(subscribed, base, count);
    return {
      subscribers: count,
      threads,
      idleSocketBytes,
      graphqlWsSubscriberBytes,
      graphqlWsSubscriptionBytes: perSubscriber(subscribed, idle, count),
      sseSubscriberBytes: perSubscriber(sse, sseBase, count),
      rssPerGraphqlWsSubscriber: perSubscriber(subscribed, base, count, rss),
      rssPerSseSubscriber: perSubscriber(sse, sseBase, count, rss),
      gcForced: Boolean(base?.gcForced && subscribed?.gcForced && sse?.gcForced),
      notes,
    };
  } finally {
    runs.abort();
    // Closing a v2 run's stream does not stop the run: /stop does.
    await Promise.all(
      threadIds.map((threadId) =>
        fetch(`${baseUrl}/agent/default/stop/${encodeURIComponent(threadId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
          .then((response) => response.text())
          .catch(() => undefined),
      ),
    );
  }
}
