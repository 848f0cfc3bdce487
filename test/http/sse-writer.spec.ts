import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { SseWriter, type SseResponse } from '../../src/http/sse-writer.js';

const HIGH_WATER_MARK = 64;
const FRAME = `data: ${'x'.repeat(40)}\n\n`; // 48 bytes: the second frame fills the buffer

/**
 * A response whose client reads only when told to: every chunk waits in the socket buffer until
 * `readAll()`. `write` returns false once the buffer holds HIGH_WATER_MARK bytes, as a socket's does.
 */
class SlowClient extends Writable {
  readonly received: string[] = [];
  head?: { status: number; headers: Record<string, string> };
  private pending?: () => void;
  private reading = false;

  constructor() {
    super({ highWaterMark: HIGH_WATER_MARK, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.received.push(chunk);
    if (this.reading) callback();
    else this.pending = callback;
  }

  /** From now on the client keeps up. */
  readAll(): void {
    this.reading = true;
    const pending = this.pending;
    this.pending = undefined;
    pending?.();
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.head = { status, headers };
    return this;
  }

  flushHeaders(): void {}
}

function asResponse(client: SlowClient): SseResponse {
  return client as unknown as SseResponse;
}

/** A source of `count` frames that says how many were taken from it and whether it was closed. */
function frames(count: number) {
  const state = { taken: 0, closed: false };
  async function* source(): AsyncGenerator<string> {
    try {
      for (let i = 0; i < count; i++) {
        state.taken++;
        yield FRAME;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: source() };
}

/**
 * Resolves once the writer is parked on `drain` (nothing else can make progress), or once the
 * pipe settled (a writer that ignores back-pressure runs through every frame).
 */
function whenWaitingForDrain(client: SlowClient, piped: Promise<unknown>): Promise<unknown> {
  let settled = false;
  const done = piped.finally(() => (settled = true));
  const parked = new Promise<void>((resolve) => {
    const check = () => (settled || client.listenerCount('drain') > 0 ? resolve() : setImmediate(check));
    check();
  });
  return Promise.race([parked, done]);
}

describe('SseWriter', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('opens the stream with the headers that stop proxy buffering', () => {
    const client = new SlowClient();
    SseWriter.open(asResponse(client), 'text/event-stream');
    expect(client.head).toEqual({
      status: 200,
      headers: {
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
        'content-type': 'text/event-stream',
      },
    });
  });

  it('waits for drain when the client reads slowly, instead of buffering without bound', async () => {
    const client = new SlowClient();
    const sse = SseWriter.open(asResponse(client), 'text/event-stream', HIGH_WATER_MARK);
    const { state, source } = frames(1_000);

    const piped = sse.pipe(source);
    await whenWaitingForDrain(client, piped);

    // Two frames fill the buffer (written together: they were ready in the same turn); the
    // writer stops taking frames from the source until drain.
    expect(state.taken).toBe(2);
    expect(client.writableLength).toBeLessThanOrEqual(HIGH_WATER_MARK + FRAME.length);

    client.readAll();
    await expect(piped).resolves.toBe(true);
    expect(state.taken).toBe(1_000);
    expect(client.received.join('')).toBe(FRAME.repeat(1_000));
    expect(client.received.length).toBeLessThan(1_000);
  });

  it('stops writing, and closes the source, when the client goes away while it waits for drain', async () => {
    const client = new SlowClient();
    const sse = SseWriter.open(asResponse(client), 'text/event-stream', HIGH_WATER_MARK);
    const { state, source } = frames(1_000);

    const piped = sse.pipe(source);
    await whenWaitingForDrain(client, piped);
    client.destroy();

    await expect(piped).resolves.toBe(false);
    expect(state.closed).toBe(true);
    expect(state.taken).toBe(2);
    expect(sse.open).toBe(false);
    await expect(sse.write(FRAME)).resolves.toBe(false);
  });

  it('writes the heartbeat frame during silence, and only then', async () => {
    jest.useFakeTimers();
    const client = new SlowClient();
    client.readAll();
    const sse = SseWriter.open(asResponse(client), 'text/event-stream');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* silentThenOne(): AsyncGenerator<string> {
      await released;
      yield 'data: {}\n\n';
    }

    const piped = sse.pipe(silentThenOne(), { heartbeat: { intervalMs: 1_000, frame: ': keep-alive\n\n' } });
    await jest.advanceTimersByTimeAsync(999);
    expect(client.received).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(client.received).toEqual([': keep-alive\n\n']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(client.received).toEqual([': keep-alive\n\n', ': keep-alive\n\n']);

    release();
    await expect(piped).resolves.toBe(true);
    expect(client.received).toEqual([': keep-alive\n\n', ': keep-alive\n\n', 'data: {}\n\n']);
    sse.end('event: complete\ndata:\n\n');
    expect(client.writableEnded).toBe(true);
  });

  it('writes no heartbeat while a write waits for drain: the stream is busy, the client slow', async () => {
    jest.useFakeTimers();
    const client = new SlowClient();
    const sse = SseWriter.open(asResponse(client), 'text/event-stream', HIGH_WATER_MARK);
    const { source } = frames(3);

    const piped = sse.pipe(source, { heartbeat: { intervalMs: 1_000, frame: ': keep-alive\n\n' }, coalesce: false });
    await jest.advanceTimersByTimeAsync(0);
    expect(client.listenerCount('drain')).toBeGreaterThan(0);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(client.received.join('')).not.toContain('keep-alive');

    client.readAll();
    await expect(piped).resolves.toBe(true);
    expect(client.received.join('')).toBe(FRAME.repeat(3));
  });
});
