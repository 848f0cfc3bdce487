import type { IncomingMessage } from 'node:http';

/** Development origins allowed without configuration: any port of the loopback host names. */
const DEVELOPMENT_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type OriginVerdict =
  /** No `Origin`: not a browser's cross-origin call (curl, a server, a native app). */
  | 'no-origin'
  | 'same-origin'
  | 'allowed'
  | 'denied';

/**
 * Which browser origins may call the runtime, for CORS and for WebSocket upgrades alike.
 * Deny by default: without configured origins, only same-origin requests and loopback
 * development origins pass. `null` (sandboxed frames, `file:`, redirects) never passes: it is
 * the origin an attacker can most easily take. A configured entry is an exact origin or a
 * pattern where `*` stands for one or more DNS labels (`https://*.example.com` matches
 * `https://a.b.example.com`, never `https://example.com` or `https://evilexample.com`).
 */
export class OriginPolicy {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];
  /** `*` configured: any origin may read, but never with credentials. */
  readonly wildcard: boolean;

  constructor(readonly configured: string[]) {
    this.wildcard = configured.includes('*');
    for (const entry of configured) {
      if (entry === '*') continue;
      if (entry.includes('*')) this.patterns.push(patternOf(entry));
      else this.exact.add(normalise(entry));
    }
  }

  /** The verdict on a request's `Origin` (same-origin: it names the host the request was sent to). */
  judge(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return 'no-origin';
    if (origin === 'null' || origin === '') return 'denied';
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return 'denied';
    }
    if (url.host !== '' && hostsOf(req).includes(url.host.toLowerCase())) return 'same-origin';
    if (this.allowsOrigin(url)) return 'allowed';
    return 'denied';
  }

  private allowsOrigin(url: URL): boolean {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (this.wildcard) return true;
    const origin = url.origin.toLowerCase();
    if (this.exact.has(origin)) return true;
    if (this.patterns.some((pattern) => pattern.test(origin))) return true;
    // Development origins only while nothing is configured: a configured list is the whole truth.
    return this.configured.length === 0 && DEVELOPMENT_HOSTS.has(url.hostname.toLowerCase());
  }
}

/**
 * The host names this request was addressed to: `Host`, and, when the app trusts its proxy
 * (Express `trust proxy`), `X-Forwarded-Host` (a proxy terminating TLS rewrites `Host`).
 */
function hostsOf(req: IncomingMessage): string[] {
  const hosts = [req.headers.host?.toLowerCase()].filter((host): host is string => !!host);
  const trustsProxy = (req as IncomingMessage & { app?: { get(name: string): unknown } }).app?.get?.('trust proxy fn');
  const forwarded = req.headers['x-forwarded-host'];
  if (typeof trustsProxy === 'function' && typeof forwarded === 'string' && trustsProxy(req.socket.remoteAddress, 0)) {
    hosts.push(...forwarded.split(',').map((host) => host.trim().toLowerCase()));
  }
  return hosts;
}

function normalise(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    throw new Error(`Not an origin: "${origin}" (write it as https://host[:port]).`);
  }
}

function patternOf(entry: string): RegExp {
  const match = /^(https?):\/\/\*\.([a-z0-9.-]+)(:\d+)?$/i.exec(entry);
  if (!match) throw new Error(`Not an origin pattern: "${entry}" (write it as https://*.example.com[:port]).`);
  const [, scheme, domain, port = ''] = match;
  const escaped = `${domain}${port}`.toLowerCase().replace(/[.]/g, '\\.');
  return new RegExp(`^${scheme!.toLowerCase()}://([a-z0-9-]+\\.)+${escaped}$`);
}
