import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../support/wait-for.js';

/**
 * A TCP pass-through in front of a server that counts the client connections still open: tells
 * whether the HTTP client really hung up (aimock's journal does not record a client that leaves).
 * Only connections that carried a request count: after an abort, undici opens a spare idle
 * connection to the same origin, which it closes after its keep-alive timeout. It also tells who hung
 * up first, the client or the server: that the client cancelled is then a fact, not a timing guess.
 */
export interface ConnectionProbe {
  /** Point the client here instead of at the target. */
  url: string;
  openConnections(): number;
  /** Resolves once every connection that carried a request is closed (see waitFor). */
  waitUntilAllClosed(): Promise<void>;
  /** For each closed connection that carried a request, oldest first: the side that hung up first. */
  closedBy(): Array<'client' | 'server'>;
  stop(): Promise<void>;
}

export async function startConnectionProbe(targetPort: number): Promise<ConnectionProbe> {
  const open = new Set<Socket>();
  const all = new Set<Socket>();
  const closers: Array<'client' | 'server'> = [];
  const server = createServer((client) => {
    let carriedRequest = false;
    let firstToHangUp: 'client' | 'server' | undefined;
    client.once('data', () => {
      carriedRequest = true;
      if (!client.destroyed) open.add(client);
    });
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    all.add(client).add(upstream);
    const hungUp = (side: 'client' | 'server') => () => {
      if (firstToHangUp) return;
      firstToHangUp = side;
      if (carriedRequest) closers.push(side);
    };
    // First of FIN, reset (an abort resets: 'error' comes before the other side is torn down) or close.
    for (const event of ['end', 'error', 'close']) {
      client.once(event, hungUp('client'));
      upstream.once(event, hungUp('server'));
    }
    const closeBoth = () => {
      open.delete(client);
      all.delete(client);
      all.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    openConnections: () => open.size,
    waitUntilAllClosed: async () => {
      await waitFor(() => open.size === 0, { what: 'every connection that carried a request to close' });
    },
    closedBy: () => [...closers],
    stop: async () => {
      for (const socket of all) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
