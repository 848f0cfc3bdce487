import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { corkSendsPerTurn } from '../../src/graphql/transport/turn-corked-sends.js';

interface Counted {
  ws: WebSocket;
  writes: () => number;
}

/** A real WebSocket pair over loopback; the server side corked per turn, its socket writes counted. */
async function socketPair(): Promise<{ server: Counted; client: WebSocket; close: () => Promise<void> }> {
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const serverSide = new Promise<Counted>((resolve) => {
    http.on('upgrade', (req, socket: Duplex, head) => {
      let writes = 0;
      const raw = socket as Duplex & { _write: Function; _writev?: Function };
      const write = raw._write.bind(raw);
      const writev = raw._writev?.bind(raw);
      raw._write = (...args: unknown[]) => {
        writes++;
        return write(...args);
      };
      if (writev) {
        raw._writev = (...args: unknown[]) => {
          writes++;
          return writev(...args);
        };
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        corkSendsPerTurn(ws, socket);
        resolve({ ws, writes: () => writes });
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  await new Promise((resolve) => client.once('open', resolve));
  const server = await serverSide;
  return {
    server,
    client,
    close: async () => {
      client.terminate();
      server.ws.terminate();
      wss.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

function received(client: WebSocket, count: number): Promise<string[]> {
  const messages: string[] = [];
  return new Promise((resolve) => {
    client.on('message', (data) => {
      messages.push(String(data));
      if (messages.length === count) resolve(messages);
    });
  });
}

describe('corkSendsPerTurn', () => {
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await close?.();
    close = null;
  });

  it("sends a turn's messages in one socket write, in order, without waiting for each write", async () => {
    const pair = await socketPair();
    close = pair.close;
    const before = pair.server.writes();
    const arriving = received(pair.client, 5);
    const confirmed: number[] = [];
    // As graphql-ws sends: each message's callback before the next message.
    for (let index = 0; index < 5; index++) {
      await new Promise<void>((resolve, reject) =>
        pair.server.ws.send(JSON.stringify({ index }), (error) => (error ? reject(error) : resolve())),
      );
      confirmed.push(index);
    }
    // Every callback came before the turn's one write.
    expect(confirmed).toEqual([0, 1, 2, 3, 4]);
    expect(pair.server.writes() - before).toBe(0);
    expect((await arriving).map((message) => JSON.parse(message).index)).toEqual([0, 1, 2, 3, 4]);
    expect(pair.server.writes() - before).toBe(1);
  });

  it('makes a send wait for the real write once the socket holds more than its high-water mark', async () => {
    const pair = await socketPair();
    close = pair.close;
    const before = pair.server.writes();
    const arriving = received(pair.client, 2);
    pair.server.ws.send('x'.repeat(256 * 1024));
    let writesAtCallback = -1;
    await new Promise<void>((resolve) =>
      pair.server.ws.send('small', () => {
        writesAtCallback = pair.server.writes() - before;
        resolve();
      }),
    );
    expect(writesAtCallback).toBeGreaterThanOrEqual(1);
    expect((await arriving).map((message) => message.length)).toEqual([256 * 1024, 5]);
  });
});
