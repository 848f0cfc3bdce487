import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { McpToolFilter } from './mcp-server-config.js';

/**
 * One server exactly as it is connected: a configured server with its headers computed for the
 * request, or a client-named one. Equal targets share one pooled connection.
 */
export type McpTarget = (
  | { transport: 'stdio'; command: string; args: string[]; env?: Record<string, string>; cwd?: string }
  | { transport: 'http' | 'sse'; url: string; headers: Record<string, string> }
) & {
  id: string;
  tools?: McpToolFilter;
  callTimeoutMs?: number;
};

/** The pool key of a target: a hash, so header values (tokens) are not kept in the clear as keys. */
export function targetKey(target: McpTarget): string {
  return createHash('sha256').update(stableJson(target)).digest('hex');
}

/** Where a target lives, for logs (never its headers). */
export function describeTarget(target: McpTarget): string {
  return target.transport === 'stdio' ? `stdio "${[target.command, ...target.args].join(' ')}"` : `${target.transport} ${target.url}`;
}

const CLIENT_INFO = { name: 'copilot-runtime-nest', version: '0.1.0' };

export interface OpenedClient {
  client: Client;
  /** The transport used in the end (`sse` after a fallback). */
  transport: 'stdio' | 'http' | 'sse';
}

/**
 * Connects a new SDK client to the target within `timeoutMs` (the initialize handshake). An `http`
 * target whose server answers the Streamable HTTP request with 400, 404 or 405 (an older server, which only
 * speaks HTTP+SSE) is retried over SSE, as the MCP specification's compatibility section advises.
 * `onStderr` receives a stdio server's error output (consumed, so a chatty server never blocks).
 */
export async function openClient(target: McpTarget, timeoutMs: number, onStderr: (line: string) => void): Promise<OpenedClient> {
  if (target.transport === 'stdio') {
    const transport = new StdioClientTransport({
      command: target.command,
      args: target.args,
      env: { ...getDefaultEnvironment(), ...target.env },
      cwd: target.cwd,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') onStderr(line);
    });
    return { client: await connected(transport, timeoutMs), transport: 'stdio' };
  }
  const url = new URL(target.url);
  const requestInit = { headers: target.headers };
  if (target.transport === 'sse') return { client: await connected(new SSEClientTransport(url, { requestInit }), timeoutMs), transport: 'sse' };
  try {
    // No automatic reconnection of the server's event stream: a lost connection is this runtime's to handle.
    const transport = new StreamableHTTPClientTransport(url, { requestInit, reconnectionOptions: NO_STREAM_RECONNECTION });
    return { client: await connected(transport, timeoutMs), transport: 'http' };
  } catch (error) {
    if (!isClientErrorStatus(error)) throw error;
    return { client: await connected(new SSEClientTransport(url, { requestInit }), timeoutMs), transport: 'sse' };
  }
}

const NO_STREAM_RECONNECTION = { initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1, maxRetries: 0 };

async function connected(transport: Transport, timeoutMs: number): Promise<Client> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: timeoutMs });
    return client;
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

function isClientErrorStatus(error: unknown): boolean {
  const code = error instanceof StreamableHTTPError ? error.code : undefined;
  // 401/403 are the server's answer about credentials, not about the transport.
  return code === 400 || code === 404 || code === 405;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
