import type { BaseEvent } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import type { ServerResponse } from 'node:http';
import { batchesOf } from '../common/batched-iterable.js';
import { SseWriter } from '../http/sse-writer.js';

const KEEP_ALIVE = ': keep-alive\n\n';

/**
 * Streams AG-UI events as server-sent events (`data: <event json>\n\n`, encoded by
 * @ag-ui/encoder) through the edge's SseWriter (back-pressure; stops reading `events`, which lets
 * the source clean up, as soon as the client goes away). During silence a `: keep-alive` comment
 * every `heartbeatMs` keeps proxies from closing the stream (every SSE client ignores comments).
 */
export async function streamEvents(
  res: ServerResponse,
  events: AsyncIterable<BaseEvent>,
  heartbeatMs: number,
): Promise<void> {
  const encoder = new EventEncoder();
  const sse = SseWriter.open(res, encoder.getContentType());

  // What the run emitted together is encoded into one string and written at once.
  async function* frames(): AsyncGenerator<string> {
    for await (const batch of batchesOf(events)) {
      let frames = '';
      for (const event of batch) frames += encoder.encodeSSE(event);
      yield frames;
    }
  }

  try {
    // One string per run batch already (the run's pump batches per turn): nothing to coalesce.
    await sse.pipe(frames(), { heartbeat: { intervalMs: heartbeatMs, frame: KEEP_ALIVE }, coalesce: false });
  } finally {
    sse.end();
  }
}
