import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Gauge } from 'prom-client';

type Transport = 'sse' | 'multipart' | 'websocket';

/**
 * Open streams by transport, watched on the HTTP server itself (no middleware order to get right,
 * no transport code to touch): a response counts once its headers go out as Server-Sent Events
 * (v2 routes, GraphQL over SSE) or multipart/mixed (v1 incremental delivery), until it closes; an
 * upgraded connection (graphql-ws) counts until its socket closes.
 */
export function watchStreams(server: Server, gauge: Gauge<'transport'>): () => void {
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    if (res.headersSent) return count(res, gauge);
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      res.writeHead = writeHead;
      const headers = args.find((arg) => typeof arg === 'object' && arg !== null && !Array.isArray(arg)) as OutgoingHttpHeaders | undefined;
      const result = (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
      count(res, gauge, headers);
      return result;
    } as ServerResponse['writeHead'];
  };
  const onUpgrade = (_req: IncomingMessage, socket: Duplex) => {
    gauge.inc({ transport: 'websocket' });
    socket.once('close', () => gauge.dec({ transport: 'websocket' }));
  };
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('request', onRequest);
    server.off('upgrade', onUpgrade);
  };
}

function count(res: ServerResponse, gauge: Gauge<'transport'>, headers?: OutgoingHttpHeaders): void {
  const transport = transportOf(String(headerOf(headers, 'content-type') ?? res.getHeader('content-type') ?? ''));
  if (!transport || res.writableFinished) return;
  gauge.inc({ transport });
  res.once('close', () => gauge.dec({ transport }));
}

function headerOf(headers: OutgoingHttpHeaders | undefined, name: string): unknown {
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function transportOf(contentType: string): Transport | null {
  if (contentType.includes('text/event-stream')) return 'sse';
  if (contentType.includes('multipart/mixed')) return 'multipart';
  return null;
}
