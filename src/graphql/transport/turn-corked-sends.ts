import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

type SendCallback = (error?: Error) => void;

/**
 * Makes what a WebSocket sends in one turn of the event loop leave in one TCP write, and lets its
 * sender go on without waiting for each write.
 *
 * graphql-ws's `ws` adapter awaits every message's write callback before it takes the next
 * result, and a subscription sends one `next` message per event (the protocol has no message for
 * several): a burst of 500 events was 500 writes, each waiting for the previous one. Here:
 * - the first send of a turn corks the raw socket and `setImmediate` uncorks it, so the frames of
 *   a turn go to the kernel in one writev (a lone message waits only for the end of its turn);
 * - a send's callback is called at once while the socket buffers less than its high-water mark,
 *   so the sender produces the turn's other messages; past it, the callback waits for the real
 *   write, which bounds what a slow reader makes the server hold. A write that fails closes the
 *   socket (ws), which ends its operations.
 * Frames, their order and their bytes are unchanged.
 */
export function corkSendsPerTurn(ws: WebSocket, raw: Duplex): void {
  const send = ws.send.bind(ws);
  const highWaterMark = raw.writableHighWaterMark;
  let corked = false;
  const uncork = () => {
    corked = false;
    raw.uncork();
  };
  const corkedSend = (data: unknown, optionsOrCallback?: object | SendCallback, callback?: SendCallback): void => {
    const options = typeof optionsOrCallback === 'function' ? {} : (optionsOrCallback ?? {});
    const done = (typeof optionsOrCallback === 'function' ? optionsOrCallback : callback) as SendCallback | undefined;
    if (!corked && ws.readyState === ws.OPEN && !raw.writableEnded) {
      corked = true;
      raw.cork();
      setImmediate(uncork);
    }
    if (!done || ws.readyState !== ws.OPEN || ws.bufferedAmount >= highWaterMark) {
      send(data as string, options, done);
      return;
    }
    send(data as string, options, ignore);
    process.nextTick(done);
  };
  ws.send = corkedSend as WebSocket['send'];
}

const ignore = () => undefined;
