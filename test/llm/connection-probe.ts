import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP pass-through in front of a server that counts the client connections still open: tells
 * whether the HTTP client really hung up (aimock's journal does not record a client that leaves).
 * Only connections that carried a request count: after an abort, undici opens a spare idle
 * connection to the same origin, which it closes after its keep-alive timeout.
 */
export interface ConnectionProbe {
  /** Point the client here instead of at the target. */
  url: string;
  openConnections(): number;
  /** Resolves with the time it took, or rejects when connections are still open after `timeoutMs`. */
  waitUntilAllClosed(timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startConnectionProbe(targetPort: number): Promise<ConnectionProbe> {
  const open = new Set<Socket>();
  const all = new Set<Socket>();
  const server = createServer((client) => {
    client.once('data', () => {
      if (!client.destroyed) open.add(client);
    });
    const upstream = connect(targetPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    all.add(client).add(upstream);
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
    waitUntilAllClosed: async (timeoutMs) => {
      const start = Date.now();
      while (open.size > 0) {
        if (Date.now() - start > timeoutMs) throw new Error(`${open.size} connection(s) still open after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return Date.now() - start;
    },
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
