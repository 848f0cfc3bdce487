import { afterEach, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpConnection, type McpConnectionStatus } from '../../src/mcp/mcp-connection.js';
import { waitFor } from '../support/wait-for.js';
import { EVERYTHING_BIN } from './support/mcp-servers.js';

/**
 * One connection to a real stdio server (server-everything) whose process dies: the call in flight
 * is an error result, the process is started again with backoff, and the tools are listed anew.
 */
describe('an MCP connection to a stdio server that crashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-stdio-'));
  const pidFile = join(dir, 'pid');
  let connection: McpConnection | undefined;

  afterEach(async () => {
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const serverPid = () => Number(readFileSync(pidFile, 'utf8').trim());

  it('fails the call in flight, restarts the server and lists its tools again', async () => {
    // `exec` keeps the shell's pid, which it wrote down first: the pid of the server itself.
    connection = new McpConnection(
      {
        id: 'crashy',
        transport: 'stdio',
        command: '/bin/sh',
        args: ['-c', `echo $$ > ${pidFile}; exec "${process.execPath}" "${EVERYTHING_BIN}" stdio`],
      },
      { connectTimeoutMs: 20_000, callTimeoutMs: 30_000, reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 200 },
      // Quiet: the outage and the return are logged by design; this test watches the statuses.
      Object.assign(new Logger('test'), { log: () => undefined, warn: () => undefined, debug: () => undefined }),
    );
    const seen: McpConnectionStatus[] = [];
    connection.onStatus((status) => seen.push(status));

    const tools = await connection.tools();
    expect(tools.map((tool) => tool.name)).toContain('trigger-long-running-operation');
    const firstPid = serverPid();

    const call = connection.call('trigger-long-running-operation', { duration: 20, steps: 20 }, new AbortController().signal);
    process.kill(firstPid, 'SIGKILL');
    expect(JSON.parse(await call)).toEqual({
      error: { code: 'MCP_SERVER_UNAVAILABLE', message: expect.stringContaining('went away during the call') },
      result: '',
    });

    await waitFor(() => connection!.status === 'ready', { what: 'the server to be started again' });
    expect(serverPid()).not.toBe(firstPid);
    expect(seen).toEqual(['connecting', 'ready', 'down', 'connecting', 'ready']);
    expect(JSON.parse(JSON.stringify(await connection.tools())).map((tool: { name: string }) => tool.name)).toContain('echo');
    expect(await connection.call('echo', { message: 'again' }, new AbortController().signal)).toBe('Echo: again');
  });
});
