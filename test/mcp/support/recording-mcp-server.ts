import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * An MCP server of the SDK itself, in-process over Streamable HTTP on 127.0.0.1, that records what
 * a test needs to see: the Authorization header of every request, sessions opened and ended.
 * Tools: `whoami` (the caller's Authorization header), `plan_trip` (integer, array and nested-object
 * parameters; answers with the arguments it received), `unlock` (registers the tool `secret` on
 * the session, which makes the SDK send notifications/tools/list_changed).
 */
export interface RecordingMcpServer {
  url: string;
  authorizations: string[];
  sessionsOpened: number;
  sessionsEnded: number;
  close(): Promise<void>;
}

export async function startRecordingMcpServer(): Promise<RecordingMcpServer> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const record: RecordingMcpServer = { url: '', authorizations: [], sessionsOpened: 0, sessionsEnded: 0, close: async () => undefined };

  const http = createServer(async (req, res) => {
    record.authorizations.push(req.headers.authorization ?? '');
    const body = req.method === 'POST' ? JSON.parse(await readBody(req)) : undefined;
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    let transport = sessionId ? transports.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) {
        res.statusCode = 404;
        res.end();
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        onsessioninitialized: (id) => {
          record.sessionsOpened++;
          transports.set(id, created);
        },
        onsessionclosed: (id) => {
          record.sessionsEnded++;
          transports.delete(id);
        },
      });
      transport = created;
      await sessionServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  record.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  record.close = async () => {
    for (const transport of transports.values()) await transport.close().catch(() => undefined);
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return record;
}

function sessionServer(): McpServer {
  const server = new McpServer({ name: 'recording', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who the server thinks you are', inputSchema: {} }, async (_args, extra) => ({
    content: [{ type: 'text', text: String(extra.requestInfo?.headers.authorization ?? 'nobody') }],
  }));
  server.registerTool(
    'plan_trip',
    {
      description: 'Plans a trip',
      inputSchema: {
        days: z.number().int().min(1).describe('Length of the trip in days'),
        stops: z.array(z.object({ city: z.string(), nights: z.number().int(), tags: z.array(z.string()).optional() })),
        budget: z.object({ currency: z.string().length(3), amount: z.number() }),
      },
    },
    async (args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] }),
  );
  server.registerTool('unlock', { description: 'Unlocks the secret tool', inputSchema: {} }, async () => {
    server.registerTool('secret', { description: 'The secret', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: '42' }] }));
    return { content: [{ type: 'text', text: 'unlocked' }] };
  });
  return server;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
