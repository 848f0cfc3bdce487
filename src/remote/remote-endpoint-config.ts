import type { Identity } from '../common/request-context.js';

/** What a header hook sees of the call it adds headers to (upstream's `onBeforeRequest({ ctx })`). */
export interface RemoteCallContext {
  /** Who calls; absent when discovery runs outside any request. */
  identity?: Identity;
  /** The request's free-form properties (v1 `properties`, v2 forwarded props); `{}` outside a request. */
  properties: Readonly<Record<string, unknown>>;
}

export type RemoteHeaders = Record<string, string>;
export type RemoteHeadersFn = (ctx: RemoteCallContext) => RemoteHeaders | Promise<RemoteHeaders>;

/** Retries of one remote call (408, 429, 5xx, connection errors), before a stream has started. */
export interface RemoteRetryOptions {
  /** Attempts in all, the first included. Default 4 (three retries, as upstream). */
  maxAttempts?: number;
  /** Delay before the first retry; it doubles on every further failure. Default 1000 ms. */
  initialDelayMs?: number;
  /** Upper bound of one delay (a longer `Retry-After` gives up instead). Default 5000 ms. */
  maxDelayMs?: number;
}

/**
 * A self-hosted CopilotKit endpoint (the Python SDK's `add_fastapi_endpoint`, or any server that
 * speaks its protocol): its actions become tools, its agents are served like local ones.
 */
export interface RemoteEndpointDefinition {
  /** Base URL; `/info`, `/actions/execute`, `/agents/execute` and `/agents/state` are under it. */
  url: string;
  /**
   * Headers of every call: a static map, or computed per call from who calls and the request's
   * properties (e.g. the user's own token). Never logged, never in an error message.
   */
  headers?: RemoteHeaders | RemoteHeadersFn;
  /** How long a successful `/info` answer is reused. Default 60000 ms. */
  discoveryTtlMs?: number;
  /** How long a failed discovery is remembered before the endpoint is tried again. Default 5000 ms. */
  discoveryRetryMs?: number;
  /**
   * Bound on a hang: the time to an answer (and, for JSON answers, to its whole body), and the
   * longest silence inside a streamed answer. Default 30000 ms.
   */
  timeoutMs?: number;
  retry?: RemoteRetryOptions;
}

/** An endpoint once checked, defaults applied. */
export interface RemoteEndpoint {
  /** Base URL without a trailing slash. */
  url: string;
  /** The URL as messages and logs name it: without credentials, query or fragment. */
  label: string;
  headers: RemoteHeadersFn;
  discoveryTtlMs: number;
  discoveryRetryMs: number;
  timeoutMs: number;
  retry: Required<RemoteRetryOptions>;
}

export const REMOTE_ENDPOINT_DEFAULTS = {
  discoveryTtlMs: 60_000,
  discoveryRetryMs: 5_000,
  timeoutMs: 30_000,
  retry: { maxAttempts: 4, initialDelayMs: 1_000, maxDelayMs: 5_000 },
} as const;

/**
 * Checks the module option `remoteEndpoints` (throwing a message naming the entry, so a bad
 * configuration stops the boot) and applies the defaults.
 */
export function resolveRemoteEndpoints(definitions: readonly RemoteEndpointDefinition[] | undefined): RemoteEndpoint[] {
  const endpoints: RemoteEndpoint[] = [];
  const seen = new Set<string>();
  (definitions ?? []).forEach((definition, index) => {
    const where = `remoteEndpoints[${index}]`;
    if (typeof definition !== 'object' || definition === null) throw new Error(`${where} must be an object with a url.`);
    const problem = urlProblem(definition.url);
    if (problem) throw new Error(`${where}.url ${problem}`);
    const url = String(definition.url).trim().replace(/\/+$/, '');
    if (seen.has(url)) throw new Error(`${where}.url ${labelOf(url)} is configured twice.`);
    seen.add(url);
    const headers = definition.headers;
    if (headers !== undefined && typeof headers !== 'function' && !isStringMap(headers)) {
      throw new Error(`${where}.headers must be a map of header names to strings, or a function returning one.`);
    }
    endpoints.push({
      url,
      label: labelOf(url),
      headers: typeof headers === 'function' ? headers : () => ({ ...(headers ?? {}) }),
      discoveryTtlMs: checkedMs(definition.discoveryTtlMs, REMOTE_ENDPOINT_DEFAULTS.discoveryTtlMs, `${where}.discoveryTtlMs`),
      discoveryRetryMs: checkedMs(definition.discoveryRetryMs, REMOTE_ENDPOINT_DEFAULTS.discoveryRetryMs, `${where}.discoveryRetryMs`),
      timeoutMs: checkedMs(definition.timeoutMs, REMOTE_ENDPOINT_DEFAULTS.timeoutMs, `${where}.timeoutMs`, 1),
      retry: {
        maxAttempts: checkedMs(definition.retry?.maxAttempts, REMOTE_ENDPOINT_DEFAULTS.retry.maxAttempts, `${where}.retry.maxAttempts`, 1),
        initialDelayMs: checkedMs(definition.retry?.initialDelayMs, REMOTE_ENDPOINT_DEFAULTS.retry.initialDelayMs, `${where}.retry.initialDelayMs`),
        maxDelayMs: checkedMs(definition.retry?.maxDelayMs, REMOTE_ENDPOINT_DEFAULTS.retry.maxDelayMs, `${where}.retry.maxDelayMs`),
      },
    });
  });
  return endpoints;
}

/**
 * `REMOTE_ENDPOINTS`: comma-separated base URLs. Returns the problem of the first bad entry
 * (`entry 2 ("ftp://x") is not an http or https URL`), or the URLs.
 */
export function parseRemoteEndpointList(value: string): { ok: true; urls: string[] } | { ok: false; problem: string } {
  const entries = value.split(',').map((entry) => entry.trim());
  const urls: string[] = [];
  for (const [index, entry] of entries.entries()) {
    if (entry === '') {
      return { ok: false, problem: `entry ${index + 1} is empty (separate URLs with single commas)` };
    }
    const problem = urlProblem(entry);
    if (problem) return { ok: false, problem: `entry ${index + 1} ("${labelOf(entry)}") ${problem}` };
    urls.push(entry);
  }
  return { ok: true, urls };
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty URL';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'is not an http or https URL';
  if (url.search || url.hash) return 'must not have a query or fragment (the protocol appends paths to it)';
  return undefined;
}

/** The URL without credentials: what logs and error messages may show. */
export function labelOf(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    parsed.hash = '';
    return parsed.toString().replace(/\/+$/, '');
  } catch {
    // Not a URL at all: show at most its beginning, in case it holds a secret.
    return url.length > 40 ? `${url.slice(0, 40)}…` : url;
  }
}

function checkedMs(value: number | undefined, fallback: number, where: string, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new Error(`${where} must be an integer of at least ${min}.`);
  return value;
}

function isStringMap(value: unknown): value is RemoteHeaders {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}
