import type { BaseEvent } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { ServerResponse } from 'node:http';
import { withHeartbeat } from '../graphql/transport/heartbeat.js';
import { STREAM_HEADERS } from '../graphql/transport/stream-headers.js';

const KEEP_ALIVE = ': keep-alive\n\n';

/**
 * Streams AG-UI events as server-sent events (`data: <event json>\n\n`, encoded by
 * @ag-ui/encoder). Headers go out at once, so the client sees the stream open before the first
 * event; during silence a `: keep-alive` comment every `heartbeatMs` keeps proxies from closing
 * it (every SSE client ignores comments). `no-transform` keeps compression middleware off a
 * stream it would otherwise buffer. Stops writing (and stops reading `events`, which lets the
 * source clean up) as soon as the client goes away.
 */
export async function streamEvents(
  res: ServerResponse,
  events: AsyncIterable<BaseEvent>,
  heartbeatMs: number,
): Promise<void> {
  const encoder = new EventEncoder();
  res.writeHead(200, { ...STREAM_HEADERS, 'content-type': encoder.getContentType() });
  res.flushHeaders();

  async function* frames(): AsyncGenerator<string> {
    for await (const event of events) yield encoder.encodeSSE(event);
  }

  try {
    for await (const frame of withHeartbeat(frames(), heartbeatMs, () => KEEP_ALIVE)) {
      if (!(await write(res, frame))) break;
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
}

/** Writes with backpressure: false once the client is gone (nothing more should be produced). */
function write(res: ServerResponse, chunk: string): Promise<boolean> {
  if (res.writableEnded || res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (open: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(open);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
