import { Injectable, Optional } from '@nestjs/common';
import { Clock, systemClock } from '../common/clock.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { RetryPolicy } from '../common/retry-policy.js';
import type { RemoteCallContext, RemoteEndpoint } from './remote-endpoint-config.js';
import { httpFailure, networkFailure, oneLine, protocolFailure } from './remote-errors.js';

/** Statuses worth another attempt: the endpoint was busy, restarting or overloaded. */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** One failed attempt, and whether another may pass (with the delay the endpoint asked for). */
class AttemptFailure extends Error {
  constructor(
    readonly error: CopilotRuntimeError,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

/** Why a call's attempt ended: the endpoint's timeout, or the caller going away. */
class AttemptSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  timedOut = false;

  constructor(timeoutMs: number, private readonly caller?: AbortSignal) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error('timeout'));
    }, timeoutMs);
    this.timer.unref?.();
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The hang bound no longer applies (the body is handed on, or the attempt is over). */
  disarm(): void {
    clearTimeout(this.timer);
  }

  dispose(): void {
    this.disarm();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }

  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);
}

/**
 * HTTP to remote CopilotKit endpoints: every call a JSON POST with the endpoint's headers,
 * bounded by its timeout, retried on 408, 429 (waiting at least its `Retry-After`), 5xx and
 * connection errors with exponential backoff, but never once a streamed answer has started.
 * Every failure is a CopilotRuntimeError naming the endpoint (see remote-errors).
 */
@Injectable()
export class RemoteHttpClient {
  private readonly clock: Clock;

  constructor(@Optional() clock?: Clock) {
    this.clock = clock ?? systemClock;
  }

  /** POSTs `body` and answers the parsed JSON answer. */
  async postJson(endpoint: RemoteEndpoint, path: string, body: unknown, ctx: RemoteCallContext, signal?: AbortSignal): Promise<unknown> {
    return this.withRetries(endpoint, signal, async () => {
      const attempt = new AttemptSignal(endpoint.timeoutMs, signal);
      try {
        const response = await this.send(endpoint, path, body, ctx, attempt);
        let text: string;
        try {
          text = await response.text();
        } catch (error) {
          throw this.connectionFailure(endpoint, path, error, attempt, signal);
        }
        if (text.trim() === '') throw new AttemptFailure(protocolFailure(endpoint, path, 'an empty body instead of JSON'), false);
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new AttemptFailure(protocolFailure(endpoint, path, `not JSON (${(error as Error).message})`), false);
        }
      } finally {
        attempt.dispose();
      }
    });
  }

  /**
   * POSTs `body` and answers the body of a successful answer, to be read as it streams. Failures
   * before the answer are retried; once the body is handed over nothing is retried (what the
   * endpoint did may not be repeatable, and part of it may already be shown).
   */
  async openStream(
    endpoint: RemoteEndpoint,
    path: string,
    body: unknown,
    ctx: RemoteCallContext,
    signal?: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.withRetries(endpoint, signal, async () => {
      const attempt = new AttemptSignal(endpoint.timeoutMs, signal);
      try {
        const response = await this.send(endpoint, path, body, ctx, attempt);
        if (!response.body) throw new AttemptFailure(protocolFailure(endpoint, path, 'an answer without a body'), false);
        // The reader bounds silences itself; the caller's signal still aborts the request.
        attempt.disarm();
        return response.body;
      } catch (error) {
        attempt.dispose();
        throw error;
      }
    });
  }

  private async send(
    endpoint: RemoteEndpoint,
    path: string,
    body: unknown,
    ctx: RemoteCallContext,
    attempt: AttemptSignal,
  ): Promise<Response> {
    const headers = await this.headersFor(endpoint, ctx);
    let response: Response;
    try {
      response = await fetch(`${endpoint.url}${path}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: attempt.signal,
      });
    } catch (error) {
      throw this.connectionFailure(endpoint, path, error, attempt);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    const error = httpFailure(endpoint, path, response.status, text);
    throw new AttemptFailure(error, RETRYABLE_STATUSES.has(response.status), retryAfterMs(response.headers.get('retry-after'), this.clock.now()));
  }

  private async headersFor(endpoint: RemoteEndpoint, ctx: RemoteCallContext): Promise<Record<string, string>> {
    try {
      const headers = await endpoint.headers(ctx);
      return headers && typeof headers === 'object' ? headers : {};
    } catch (error) {
      const message = `The headers hook of remote endpoint ${endpoint.label} failed: ${oneLine((error as Error)?.message ?? String(error))}`;
      throw new AttemptFailure(new CopilotRuntimeError('CONFIGURATION_ERROR', message, { cause: error }), false);
    }
  }

  private connectionFailure(endpoint: RemoteEndpoint, path: string, error: unknown, attempt: AttemptSignal, caller?: AbortSignal): Error {
    // The caller went away: no failure of the endpoint, nothing to retry.
    if (caller?.aborted && !attempt.timedOut) return error as Error;
    return new AttemptFailure(networkFailure(endpoint, path, error, attempt.timedOut), true);
  }

  private async withRetries<T>(endpoint: RemoteEndpoint, signal: AbortSignal | undefined, operation: () => Promise<T>): Promise<T> {
    const { maxAttempts, initialDelayMs, maxDelayMs } = endpoint.retry;
    const attempts = new RetryPolicy(
      { initialDelayMs, maxDelayMs, maxAttempts, maxOutageMs: Number.MAX_SAFE_INTEGER },
      (error) => error instanceof AttemptFailure && error.retryable,
      this.clock,
    ).start();
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        if (!(error instanceof AttemptFailure)) throw error;
        const backoff = attempts.nextDelay(error);
        if (backoff === null) throw error.error;
        const asked = error.retryAfterMs ?? 0;
        // An endpoint asking for a longer pause than a hang is allowed to last: give up now.
        if (asked > endpoint.timeoutMs) throw error.error;
        await this.clock.sleep(Math.max(backoff, asked), signal);
        if (signal?.aborted) throw signal.reason ?? error.error;
      }
    }
  }
}

/** `Retry-After` as milliseconds from now: delay-seconds or an HTTP date; absent or unreadable → undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
