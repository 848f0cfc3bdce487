import { IntrinsicException } from '@nestjs/common';

/**
 * The closed set of error codes this runtime puts on the wire (`errors[].extensions.code`, and
 * `details.originalError.code` inside a failed stream status). The first block is CopilotKit's own
 * set, so the real client classifies them; the second block covers malformed requests, which the
 * CopilotKit client never sends but hand-written clients do. The README documents every code.
 */
export const ERROR_CODES = {
  NETWORK_ERROR: { statusCode: 503, visibility: 'banner', severity: 'critical' },
  NOT_FOUND: { statusCode: 404, visibility: 'banner', severity: 'critical' },
  AGENT_NOT_FOUND: { statusCode: 500, visibility: 'banner', severity: 'critical' },
  API_NOT_FOUND: { statusCode: 404, visibility: 'banner', severity: 'critical' },
  REMOTE_ENDPOINT_NOT_FOUND: { statusCode: 404, visibility: 'banner', severity: 'critical' },
  AUTHENTICATION_ERROR: { statusCode: 401, visibility: 'banner', severity: 'critical' },
  MISUSE: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  UNKNOWN: { statusCode: 500, visibility: 'toast', severity: 'critical' },
  VERSION_MISMATCH: { statusCode: 400, visibility: 'dev_only', severity: 'info' },
  CONFIGURATION_ERROR: { statusCode: 400, visibility: 'banner', severity: 'warning' },
  MISSING_PUBLIC_API_KEY_ERROR: { statusCode: 400, visibility: 'banner', severity: 'critical' },
  UPGRADE_REQUIRED_ERROR: { statusCode: 402, visibility: 'banner', severity: 'warning' },

  /** The body is not JSON, or not a GraphQL request. */
  BAD_REQUEST: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  /** The HTTP method cannot serve the request (PUT, DELETE, ..., or a mutation over GET): sent as HTTP 405 with `Allow`. */
  METHOD_NOT_ALLOWED: { statusCode: 405, visibility: 'dev_only', severity: 'warning' },
  /** The body is over the configured limit (BODY_LIMIT). */
  PAYLOAD_TOO_LARGE: { statusCode: 413, visibility: 'dev_only', severity: 'warning' },
  /** The query does not parse. */
  GRAPHQL_PARSE_FAILED: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  /** The query does not validate against the schema. */
  GRAPHQL_VALIDATION_FAILED: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  /** Variables of the wrong type, unknown enum values, or input that breaks a documented rule. */
  BAD_USER_INPUT: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },

  /** The thread already has an active run (busy-thread policy `fail`, or `queue` timed out). */
  THREAD_BUSY: { statusCode: 409, visibility: 'toast', severity: 'warning' },
  /** The database could not store the run's events for longer than the configured limit. */
  PERSISTENCE_UNAVAILABLE: { statusCode: 503, visibility: 'toast', severity: 'critical' },
  /** No run with that id (or none the caller may see). */
  RUN_NOT_FOUND: { statusCode: 404, visibility: 'toast', severity: 'warning' },
  /** No thread with that id (or none the caller may see: existence is not leaked). */
  THREAD_NOT_FOUND: { statusCode: 404, visibility: 'toast', severity: 'warning' },

  /**
   * An agent run failed: the agent reported RUN_ERROR, its server was unreachable or answered an
   * HTTP error, or it sent malformed, invalid or out-of-order AG-UI events (or none that end the run).
   * The message names the agent and says which.
   */
  AGENT_FAILED: { statusCode: 502, visibility: 'toast', severity: 'critical' },
  /**
   * An agent exceeded one of its limits: no first event in time, silent for too long between
   * events, or a run longer than allowed. The message names the agent and the limit.
   */
  AGENT_TIMEOUT: { statusCode: 504, visibility: 'toast', severity: 'critical' },

  // Run policy: middleware and guardrails (src/middleware/, src/guardrails/).
  /**
   * A before-request middleware refused the request (it threw a `Response` or a
   * RequestRejectedError): v2 answers with the middleware's HTTP status, v1 with this code.
   */
  REQUEST_REJECTED: { statusCode: 403, visibility: 'banner', severity: 'warning' },
  /** A before-request middleware threw something else or did not answer in time: the request is refused (fail closed). */
  MIDDLEWARE_FAILED: { statusCode: 500, visibility: 'toast', severity: 'critical' },
  /**
   * Guardrails denied the user's message: the run is recorded with this error and ends with
   * upstream's v1 `GUARDRAILS_VALIDATION_FAILED` status (never a GraphQL error).
   */
  GUARDRAILS_VALIDATION_FAILED: { statusCode: 403, visibility: 'toast', severity: 'warning' },
  /** The guardrails service (or judging model) failed, timed out or answered garbage, and guardrails fail closed. */
  GUARDRAILS_UNAVAILABLE: { statusCode: 503, visibility: 'toast', severity: 'critical' },
  // Hardened edges (src/edges/, README "Hardened edges"): each message names the limit and its variable.
  /** A browser origin the CORS policy does not allow (CORS_ORIGINS): HTTP 403, WebSocket upgrade refused. */
  ORIGIN_NOT_ALLOWED: { statusCode: 403, visibility: 'dev_only', severity: 'warning' },
  /** A POST whose body is not declared `application/json` (a CSRF "simple request" must not start a run). */
  UNSUPPORTED_MEDIA_TYPE: { statusCode: 415, visibility: 'dev_only', severity: 'warning' },
  /** A GraphQL document over a limit: tokens, depth, aliases, directives, cost, runs per operation, batch size. */
  GRAPHQL_LIMIT_EXCEEDED: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  /** A run's input over a limit: message count, message size, tool count or JSON nesting depth. */
  INPUT_LIMIT_EXCEEDED: { statusCode: 400, visibility: 'dev_only', severity: 'warning' },
  /** Too many operations on one WebSocket, or too many WebSockets of one identity. */
  CONNECTION_LIMIT_EXCEEDED: { statusCode: 429, visibility: 'toast', severity: 'warning' },
  // Operations (src/health/).
  /**
   * The server is shutting down (graceful drain) and takes no new runs: retry, another instance
   * serves it. v2 answers 503 with `Retry-After`.
   */
  SHUTTING_DOWN: { statusCode: 503, visibility: 'toast', severity: 'warning' },

  // Limits and overload (src/limits/): both are retryable, and carry `retryAfter` (seconds).
  /**
   * The caller is over one of its limits (runs per minute, model tokens per hour, concurrent
   * runs). Nothing was stored and no model was called. v2: 429 with `Retry-After` and `RateLimit-*`.
   */
  RATE_LIMITED: { statusCode: 429, visibility: 'toast', severity: 'warning' },
  /**
   * The server is at capacity (its cap on concurrent runs, no database connection within the
   * admission wait, or limits that cannot be checked while RATE_LIMIT_REDIS_FAILURE=closed).
   * Nothing was stored; retry after `retryAfter` seconds. v2: 503 with `Retry-After`.
   */
  OVERLOADED: { statusCode: 503, visibility: 'toast', severity: 'warning' },
} as const satisfies Record<string, ErrorCodeConfig>;

export interface ErrorCodeConfig {
  statusCode: number;
  visibility: 'banner' | 'toast' | 'dev_only' | 'silent';
  severity: 'critical' | 'warning' | 'info';
}

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * A domain error: a code from the closed set and a message a user can act on. An
 * IntrinsicException, so Nest's default handler does not log it as an unexpected error with its
 * stack: the error boundary logs it once, with the id the client sees.
 */
export class CopilotRuntimeError extends IntrinsicException {
  /** The HTTP status a v2 answer uses instead of the code's (a middleware's own 401, 429, ...). */
  readonly httpStatus?: number;
  /** A v2 answer's body as the refusing party wrote it (a middleware's thrown `Response`), sent as-is. */
  readonly httpBody?: { text: string; contentType: string };
  /** Set when the id was already logged (a security event, or put in the message): the wire reuses it. */
  readonly errorId?: string;
  /** Seconds after which the same request may succeed (RATE_LIMITED, OVERLOADED): `retryAfter` on the wire. */
  readonly retryAfter?: number;
  /** The limit that refused the request, for v2's `RateLimit-*` headers. */
  readonly rateLimit?: RateLimitState;

  constructor(readonly code: ErrorCode, message: string, options?: CopilotRuntimeErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CopilotRuntimeError';
    if (options?.httpStatus !== undefined) this.httpStatus = options.httpStatus;
    if (options?.httpBody !== undefined) this.httpBody = options.httpBody;
    if (options?.errorId !== undefined) this.errorId = options.errorId;
    if (options?.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options?.rateLimit) this.rateLimit = options.rateLimit;
  }

  get config(): ErrorCodeConfig {
    return ERROR_CODES[this.code];
  }
}

export interface CopilotRuntimeErrorOptions {
  cause?: unknown;
  httpStatus?: number;
  httpBody?: { text: string; contentType: string };
  errorId?: string;
  retryAfter?: number;
  rateLimit?: RateLimitState;
}

/** One limit's state as the IETF RateLimit header fields carry it. */
export interface RateLimitState {
  /** The limit (runs, tokens or concurrent runs). */
  limit: number;
  remaining: number;
  /** Seconds until the window resets (or a slot is expected to free). */
  resetSeconds: number;
  /** Which limit: `runs_per_minute`, `tokens_per_hour`, `concurrent_runs`. */
  name: string;
}

/** The `retryAfter` extension of a retryable error, when it has one. */
export function retryExtensions(error: unknown): { retryAfter?: number } {
  return error instanceof CopilotRuntimeError && error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {};
}

/** What a client sees of an error: never a stack, never an internal path. */
export type WireErrorExtensions = {
  code: ErrorCode;
  statusCode: number;
  visibility: ErrorCodeConfig['visibility'];
  severity: ErrorCodeConfig['severity'];
  /** Quote it to the operator: the server log line for this error carries the same id. */
  errorId: string;
};

export function wireExtensions(code: ErrorCode, errorId: string, httpStatus?: number): WireErrorExtensions {
  const { statusCode, visibility, severity } = ERROR_CODES[code];
  return { code, statusCode: httpStatus ?? statusCode, visibility, severity, errorId };
}
