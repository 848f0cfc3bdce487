/** Who is calling. Without configured authentication every caller is the anonymous identity. */
export interface Identity {
  id: string;
  anonymous: boolean;
  /**
   * When the credential that proved this identity lapses (epoch ms): a JWT's `exp`, an API key's
   * expiry. A graphql-ws connection is closed with 4401 then.
   */
  expiresAt?: number;
  /** Set when the caller authenticated with an API key: limits are counted per key. */
  apiKey?: { id: string; name: string };
  /** This caller's own limits, over the configured defaults (an API key's, or your resolver's). */
  limits?: IdentityLimits;
}

/** Per-caller limits; a missing field falls back to the global setting, `null` lifts it. */
export interface IdentityLimits {
  runsPerMinute?: number | null;
  tokensPerHour?: number | null;
  concurrentRuns?: number | null;
}

export const ANONYMOUS_IDENTITY: Identity = Object.freeze({ id: 'anonymous', anonymous: true });

/**
 * What a log line of a request carries: the request id from the edge, then the identity, thread
 * and run once the run pipeline knows them. One mutable object per request, so fields the pipeline
 * learns later show on the request's later lines, its completion line included. Passed explicitly
 * (see src/observability/logging/log-context.ts for why not AsyncLocalStorage).
 */
export interface LogContext {
  requestId?: string;
  identity?: string;
  threadId?: string;
  runId?: string;
}

/**
 * The explicit per-request context passed first to service methods (Vendure's RequestContext):
 * who, which request, and the signal that fires when the caller goes away.
 */
export interface RequestContext {
  requestId: string;
  identity: Identity;
  /** Lower-cased inbound headers. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Aborted when the client disconnects (HTTP close, WebSocket complete/close). */
  signal: AbortSignal;
  /**
   * The request's log fields (request id, then identity, thread and run as the run pipeline learns
   * them): pass it to a log call about this request, `logger.warn(message, ctx.log)`.
   */
  log: LogContext;
}
