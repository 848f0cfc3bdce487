import { API_KEY_PREFIX } from '../auth/credentials.js';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which inbound request headers reach HTTP agents (`HttpAgent` and other remote AG-UI agents).
 * Entries are header names, case-insensitive; an entry ending in `*` is a prefix (`x-acme-*`).
 */
export interface HeaderForwardingOptions {
  /**
   * Allowlist mode: ONLY these headers are forwarded (minus `deny`). The built-in denylist does
   * not apply then: listing a header here is taken as meaning it.
   */
  allow?: string[];
  /** Never forwarded, in addition to the built-in denylist. Wins over `allow`. */
  deny?: string[];
}

/** A policy resolved once (lower-cased, empty entries dropped), read on every agent run. */
export interface HeaderForwardingPolicy {
  allow: HeaderMatcher | null;
  deny: HeaderMatcher;
}

interface HeaderMatcher {
  names: ReadonlySet<string>;
  prefixes: readonly string[];
}

/**
 * Headers stamped by the hops between the browser and us (proxies, load balancers, CDNs,
 * hosting platforms, tracing) and CopilotKit platform credentials. An agent is another service
 * with its own edge: forwarding these leaks the client's network topology and credentials and
 * corrupts the agent's own tracing. `x-request-id` is among them: it is the edge's correlation id
 * for the request to us (we use it as our request id), not one for our request to the agent.
 * `traceparent`/`tracestate` are not `x-*` headers, so they are never forwarded by default.
 */
export const DEFAULT_DENIED_HEADERS: readonly string[] = [
  'x-forwarded-*',
  'x-real-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
  'x-request-id',
  'x-correlation-id',
  'x-amzn-*',
  'x-amz-*',
  'x-goog-*',
  'x-appengine-*',
  'x-cloud-trace-context',
  'x-azure-*',
  'x-arr-*',
  'x-ms-*',
  'x-vercel-*',
  'x-nf-*',
  'x-fastly-*',
  'x-cache',
  'x-cache-*',
  'x-served-by',
  'x-timer',
  'x-varnish',
  'x-envoy-*',
  'x-b3-*',
  'x-datadog-*',
  'x-ot-span-context',
  'x-middleware-*',
  'x-copilotcloud-*',
  'x-cpki-*',
];

const DEFAULT_DENY = matcher(DEFAULT_DENIED_HEADERS);

export function resolveHeaderForwarding(options: HeaderForwardingOptions | undefined): HeaderForwardingPolicy {
  const allow = matcher(options?.allow ?? []);
  const empty = allow.names.size === 0 && allow.prefixes.length === 0;
  return { allow: empty ? null : allow, deny: matcher(options?.deny ?? []) };
}

/**
 * The inbound headers an HTTP agent receives (lower-cased names). By default `authorization` and
 * `x-*` headers, minus the built-in denylist and `deny`; with `allow`, exactly those minus `deny`.
 * Repeated headers are joined with ", " as HTTP allows. The agent stream sets these under the
 * headers the server configured for the agent: a browser never overrides a server credential.
 */
export function forwardableHeaders(
  incoming: IncomingHttpHeaders | Readonly<Record<string, string | string[] | undefined>>,
  policy: HeaderForwardingPolicy,
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [rawName, rawValue] of Object.entries(incoming)) {
    if (rawValue === undefined) continue;
    const name = rawName.toLowerCase();
    if (!shouldForward(name, policy)) continue;
    const value = Array.isArray(rawValue) ? rawValue.join(', ') : rawValue;
    // The runtime's own API keys authenticate the caller here; no agent ever receives one.
    if (carriesRuntimeApiKey(name, value)) continue;
    forwarded[name] = value;
  }
  return forwarded;
}

function carriesRuntimeApiKey(name: string, value: string): boolean {
  if (name === 'x-api-key') return value.trim().startsWith(API_KEY_PREFIX);
  return name === 'authorization' && new RegExp(`^Bearer\\s+${API_KEY_PREFIX}`, 'i').test(value.trim());
}

function shouldForward(name: string, policy: HeaderForwardingPolicy): boolean {
  if (matches(policy.deny, name)) return false;
  if (policy.allow) return matches(policy.allow, name);
  if (name !== 'authorization' && !name.startsWith('x-')) return false;
  return !matches(DEFAULT_DENY, name);
}

function matcher(entries: readonly string[]): HeaderMatcher {
  const names = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of entries) {
    const normalized = entry.trim().toLowerCase();
    // A stray comma in FORWARD_HEADERS_DENY must not become a prefix that matches everything.
    if (normalized === '') continue;
    if (normalized.endsWith('*')) prefixes.push(normalized.slice(0, -1));
    else names.add(normalized);
  }
  return { names, prefixes };
}

function matches(m: HeaderMatcher, name: string): boolean {
  return m.names.has(name) || m.prefixes.some((prefix) => name.startsWith(prefix));
}
