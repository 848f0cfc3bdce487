import { createHash } from 'node:crypto';
import { CopilotRuntimeError } from '../common/errors.js';
import type { McpUrlPattern } from './mcp-url-pattern.js';

/** The request properties upstream's clients name MCP servers in (react-core's `setMcpServers`). */
export const CLIENT_SERVER_PROPERTIES = ['mcpServers', 'mcpEndpoints'] as const;

/**
 * Servers one request may name: each distinct one is a connection this server opens, so a request
 * cannot make it open (and the pool churn through) an unbounded number.
 */
export const MAX_CLIENT_SERVERS = 10;

/** A server a request named, once checked against the allow-list. */
export interface ClientNamedServer {
  /** Tool-name prefix: the host, cleaned, and a short hash of the endpoint (two endpoints of one host differ). */
  id: string;
  endpoint: string;
  apiKey?: string;
}

/**
 * The servers a request names in `properties.mcpServers` / `mcpEndpoints` (`[{endpoint, apiKey?}]`),
 * checked: a malformed list, or any endpoint that no allow-list pattern matches, refuses the whole
 * request with BAD_USER_INPUT naming the entry (nothing is contacted, nothing stored). With no
 * allow-list every client-named server is refused: letting a browser choose URLs the server then
 * fetches is a server-side request forgery.
 */
export function clientNamedServers(properties: Readonly<Record<string, unknown>>, allow: readonly McpUrlPattern[]): ClientNamedServer[] {
  const servers: ClientNamedServer[] = [];
  for (const key of CLIENT_SERVER_PROPERTIES) {
    const value = properties[key];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw refuse(`properties.${key} must be an array of {endpoint, apiKey?}.`);
    value.forEach((entry, index) => {
      const where = `properties.${key}[${index}]`;
      const endpoint = (entry as { endpoint?: unknown } | null)?.endpoint;
      const apiKey = (entry as { apiKey?: unknown } | null)?.apiKey;
      if (typeof entry !== 'object' || entry === null || typeof endpoint !== 'string') {
        throw refuse(`${where} must be an object with a string "endpoint".`);
      }
      if (apiKey !== undefined && apiKey !== null && typeof apiKey !== 'string') throw refuse(`${where}.apiKey must be a string.`);
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw refuse(`${where}.endpoint "${endpoint}" is not a URL.`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`${where}.endpoint "${endpoint}" is not an http(s) URL.`);
      if (!allow.some((pattern) => pattern.matches(endpoint))) {
        throw refuse(
          allow.length === 0
            ? `${where}.endpoint "${endpoint}" was refused: this server does not accept MCP servers named by the client ` +
                `(configure mcp.clientServers.allow or MCP_CLIENT_SERVERS_ALLOW to allow some).`
            : `${where}.endpoint "${endpoint}" was refused: it matches none of the allowed MCP server URL patterns ` +
                `(${allow.map((pattern) => pattern.pattern).join(', ')}).`,
        );
      }
      if (!servers.some((server) => server.endpoint === url.href && server.apiKey === (apiKey ?? undefined))) {
        servers.push({ id: clientServerId(url), endpoint: url.href, apiKey: typeof apiKey === 'string' ? apiKey : undefined });
      }
    });
  }
  if (servers.length > MAX_CLIENT_SERVERS) {
    throw refuse(`A request may name at most ${MAX_CLIENT_SERVERS} MCP servers (properties.mcpServers and mcpEndpoints together); it named ${servers.length}.`);
  }
  return servers;
}

function clientServerId(url: URL): string {
  const host = url.hostname.replace(/[^a-zA-Z0-9-]/g, '_').slice(0, 20);
  return `${host}_${createHash('sha256').update(url.href).digest('hex').slice(0, 6)}`;
}

function refuse(message: string): CopilotRuntimeError {
  return new CopilotRuntimeError('BAD_USER_INPUT', message);
}
