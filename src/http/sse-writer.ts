import type { ServerResponse } from 'node:http';
import { inTurnBatches } from '../common/in-turn-batches.js';
import { STREAM_HEADERS } from './stream-headers.js';

/** What the writer needs of a response (a ServerResponse; tests pass a slow in-memory one). */
export type SseResponse = Pick<
  ServerResponse,
  'writeHead' | 'flushHeaders' | 'write' | 'end' | 'once' | 'off' | 'writableEnded' | 'destroyed'
>;

/** A comment frame written during silence, so proxies do not close an idle stream. */
export interface SseHeartbeat {
  intervalMs: number;
  frame: string;
}

/**
 * The one server-sent-events writer of both protocols (GraphQL over SSE and the AG-UI streams);
 * each protocol encodes its own frames, this writes them. Headers go out at once, so the client
 * sees the stream open before the first frame; `no-transform` keeps compression middleware off a
 * stream it would otherwise buffer.
 *
 * Back-pressure: when the socket's buffer is full (`write` returns false) the writer waits for
 * `drain` before it takes the next frame, so a slow reader slows the producer instead of making
 * the server buffer without bound. When the client goes away, writing stops and so does reading
 * the frames (which lets their source clean up).
 */
export class SseWriter {
  /** Writes waiting for `drain` (the heartbeat stays quiet meanwhile). */
  private awaitingDrain = 0;

  private constructor(
    private readonly res: SseResponse,
    private readonly maxWriteBytes: number,
  ) {}

  /**
   * @param maxWriteBytes frames of one turn are written together up to about this many bytes (a
   *   socket's default buffer): past it, the next write waits for back-pressure like any other.
   */
  static open(res: SseResponse, contentType: string, maxWriteBytes = DEFAULT_MAX_WRITE_BYTES): SseWriter {
    res.writeHead(200, { ...STREAM_HEADERS, 'content-type': contentType });
    res.flushHeaders();
    return new SseWriter(res, maxWriteBytes);
  }

  /** False once the client is gone or the response ended: nothing more should be produced. */
  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  /** Writes one frame; resolves once the socket can take more (true) or the client is gone (false). */
  write(frame: string): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    if (this.res.write(frame)) return Promise.resolve(true);
    this.awaitingDrain++;
    return new Promise((resolve) => {
      const done = (open: boolean) => {
        this.awaitingDrain--;
        this.res.off('drain', onDrain);
        this.res.off('close', onClose);
        resolve(open);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      this.res.once('drain', onDrain);
      this.res.once('close', onClose);
    });
  }

  /**
   * Writes every frame, with the heartbeat's frame during silence when one is given. Resolves true
   * when the frames ran out, false when the client went away first (the frames were returned).
   *
   * `coalesce` (default true): frames ready in the same turn of the event loop go out in one write
   * (a burst of tokens is one socket write, not one per token; a lone frame is never held back).
   * A source that already yields one string per turn (the AG-UI stream: one per run batch) passes
   * false and saves the per-frame turn check.
   */
  async pipe(frames: AsyncIterable<string>, options: { heartbeat?: SseHeartbeat; coalesce?: boolean } = {}): Promise<boolean> {
    const source = options.coalesce === false ? frames : inTurnBatches(frames, joinFrames, { maxWeight: this.maxWriteBytes, weigh: frameLength });
    const heartbeat = options.heartbeat && this.beatDuringSilence(options.heartbeat);
    try {
      for await (const frame of source) {
        heartbeat?.refresh();
        if (!(await this.write(frame))) return false;
      }
      return true;
    } finally {
      clearTimeout(heartbeat);
    }
  }

  /**
   * One timer per stream, re-armed by every frame: when it fires, nothing was written for
   * `intervalMs`, and the heartbeat frame goes out (not while a write waits for drain: the stream
   * is not silent then, the client is slow). No promise or race per frame.
   */
  private beatDuringSilence(heartbeat: SseHeartbeat): NodeJS.Timeout {
    const timer: NodeJS.Timeout = setTimeout(() => {
      if (!this.open) return;
      if (this.awaitingDrain === 0) this.res.write(heartbeat.frame);
      timer.refresh();
    }, heartbeat.intervalMs);
    timer.unref();
    return timer;
  }

  /** Ends the stream (with a last frame, if given) unless it already ended. */
  end(lastFrame?: string): void {
    if (this.res.writableEnded) return;
    if (lastFrame === undefined) this.res.end();
    else this.res.end(lastFrame);
  }
}

const DEFAULT_MAX_WRITE_BYTES = 16 * 1024;
const joinFrames = (frames: string[]): string => frames.join('');
const frameLength = (frame: string): number => frame.length;
