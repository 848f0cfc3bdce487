import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpStdioServerConfig } from '../../../src/index.js';

/**
 * Real MCP servers from npm for the tests: `@modelcontextprotocol/server-everything` (stdio, and
 * Streamable HTTP or SSE as a child process on 127.0.0.1) and `@modelcontextprotocol/server-memory`.
 */
const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

export const EVERYTHING_BIN = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');
export const MEMORY_BIN = join(dirname(require.resolve('@modelcontextprotocol/server-memory/package.json')), 'dist/index.js');
const LOOPBACK_PRELOAD = join(here, 'loopback-listen.mjs');

export function everythingStdio(id: string, extra: Partial<McpStdioServerConfig> = {}): McpStdioServerConfig {
  return { id, transport: 'stdio', command: process.execPath, args: [EVERYTHING_BIN, 'stdio'], ...extra };
}

/** server-memory over stdio, its knowledge graph in a fresh temporary file (removed by `cleanup`). */
export function memoryStdio(id: string): { config: McpStdioServerConfig; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-memory-'));
  return {
    config: { id, transport: 'stdio', command: process.execPath, args: [MEMORY_BIN], env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') } },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HttpMcpServer {
  port: number;
  /** The MCP endpoint (`/mcp`, or `/sse` for the SSE transport). */
  url: string;
  process: ChildProcess;
  /** Kills the process (SIGKILL: a crash, not a shutdown) and waits for its exit. */
  kill(): Promise<void>;
}

/**
 * server-everything over Streamable HTTP (or the older SSE transport) in a child process, bound to
 * 127.0.0.1 on `port` (0: a random one, read from what the process announces).
 */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse' = 'streamableHttp', port = 0): Promise<HttpMcpServer> {
  const child = spawn(process.execPath, ['--import', LOOPBACK_PRELOAD, EVERYTHING_BIN, mode], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const bound = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /LISTENING (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`server-everything ${mode} exited (${code}) before listening: ${text}`)));
  });
  child.stderr!.resume();
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/${mode === 'sse' ? 'sse' : 'mcp'}`,
    process: child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A loopback port nobody listens on (for a server that is down, to be started there later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
