import { z } from 'zod';
import type { Identity } from '../common/request-context.js';

/**
 * What a per-request header function sees: who calls, the request's inbound headers (lower-cased)
 * and its properties. Lets a user's own token reach their MCP server.
 */
export interface McpRequestScope {
  identity: Identity;
  requestHeaders: Readonly<Record<string, string | undefined>>;
  properties: Readonly<Record<string, unknown>>;
}

/** Headers of an HTTP server: fixed, or computed for each request (a run's tools are listed with them). */
export type McpHeaders =
  | Record<string, string>
  | ((scope: McpRequestScope) => Record<string, string> | undefined | Promise<Record<string, string> | undefined>);

/** Which of a server's tools are offered: names or `*` patterns; `deny` wins over `allow`. */
export interface McpToolFilter {
  /** Only these tools (default: all). */
  allow?: string[];
  /** Never these tools. */
  deny?: string[];
}

interface McpServerBase {
  /**
   * Stable id: the prefix of the server's tool names (`<id>__<tool>`) and the name in logs.
   * Letters, digits, `_` and `-`.
   */
  id: string;
  tools?: McpToolFilter;
  /** Per-call time limit of this server's tools (default: the module's `callTimeoutMs`). */
  callTimeoutMs?: number;
}

/** A local server started as a child process, spoken to over its stdin/stdout. */
export interface McpStdioServerConfig extends McpServerBase {
  transport: 'stdio';
  command: string;
  args?: string[];
  /**
   * Environment of the child, over a minimal safe default (PATH, HOME, ...): the runtime's own
   * environment (its keys and database URL) is not handed to the server.
   */
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * A remote server over Streamable HTTP (`http`; a server answering 4xx to it is retried over the
 * older HTTP+SSE transport) or over HTTP+SSE only (`sse`).
 */
export interface McpHttpServerConfig extends McpServerBase {
  transport: 'http' | 'sse';
  url: string;
  headers?: McpHeaders;
}

export type McpServerConfig = McpStdioServerConfig | McpHttpServerConfig;

/** Options of the MCP tool source (module option `mcp`). */
export interface McpOptions {
  /** The servers whose tools every run of the built-in agent is offered. */
  servers?: McpServerConfig[];
  /**
   * Servers a request may name itself (`properties.mcpServers` / `mcpEndpoints`,
   * `[{endpoint, apiKey?}]`). Refused unless their URL matches one of `allow`: see McpUrlPattern.
   */
  clientServers?: {
    allow: string[];
    tools?: McpToolFilter;
  };
  /** Time limit of one tool call; over it the model reads an error result. Default 60000 ms. */
  callTimeoutMs?: number;
  /** Time limit of connecting and listing a server's tools. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Reconnection backoff of a server that is down: first delay, doubled up to `maxDelayMs`. Defaults 1000 / 30000 ms. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /**
   * Connections kept for servers whose headers depend on the request, and for client-named
   * servers (one per distinct configuration); the least recently used is closed beyond it. Default 50.
   */
  maxPooledClients?: number;
}

export const MCP_DEFAULTS = {
  callTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  reconnectInitialDelayMs: 1_000,
  reconnectMaxDelayMs: 30_000,
  maxPooledClients: 50,
} as const;

/** A server id is a tool-name prefix: it must survive the `[a-zA-Z0-9_-]` rule unchanged. */
export const SERVER_ID_PATTERN = /^[a-zA-Z0-9_-]{1,32}$/;

const toolFilterSchema = z
  .object({ allow: z.array(z.string().min(1)).optional(), deny: z.array(z.string().min(1)).optional() })
  .strict();

const baseShape = {
  id: z.string().regex(SERVER_ID_PATTERN, 'must be 1-32 letters, digits, "_" or "-"'),
  tools: toolFilterSchema.optional(),
  callTimeoutMs: z.number().int().positive().optional(),
};

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const stdioSchema = z
  .object({
    ...baseShape,
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
  })
  .strict();

const httpSchema = z
  .object({
    ...baseShape,
    transport: z.enum(['http', 'sse']),
    url: httpUrl,
    headers: z.union([z.record(z.string(), z.string()), z.custom<McpHeaders>((value) => typeof value === 'function')]).optional(),
  })
  .strict();

const serverSchema = z.discriminatedUnion('transport', [stdioSchema, httpSchema]);

/**
 * The servers, checked: each entry's shape, and ids unique. Throws one message naming where the
 * list came from (`MCP_SERVERS`, `mcp.servers`) and each bad entry by index and id.
 */
export function checkedServers(value: unknown, origin: string): McpServerConfig[] {
  if (!Array.isArray(value)) throw new Error(`${origin} must be a JSON array of MCP server entries.`);
  const problems: string[] = [];
  const servers: McpServerConfig[] = [];
  const seen = new Set<string>();
  value.forEach((entry, index) => {
    const label = `${origin}[${index}]${entryId(entry)}`;
    const parsed = serverSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push(`${label}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
      }
      return;
    }
    if (seen.has(parsed.data.id)) problems.push(`${label}: duplicate id "${parsed.data.id}" (ids must be unique)`);
    seen.add(parsed.data.id);
    servers.push(parsed.data as McpServerConfig);
  });
  if (problems.length > 0) throw new Error(`Invalid MCP server configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return servers;
}

/** `MCP_SERVERS` (JSON text) as server configurations; throws naming the variable and the entry. */
export function serversFromEnvironment(text: string | undefined): McpServerConfig[] {
  if (text === undefined || text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`MCP_SERVERS is not valid JSON: ${(error as Error).message}`);
  }
  return checkedServers(value, 'MCP_SERVERS');
}

function entryId(entry: unknown): string {
  const id = (entry as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? ` (id "${id}")` : '';
}
