import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP pass-through between the runtime and the mock LLM that remembers, per client connection,
 * what the runtime sent on it and when it closed. Tells whether the model call of one particular
 * request (found by a marker in its body) was hung up by the runtime, even when other connections
 * stay open in the keep-alive pool.
 *
 *   const tap = await startLlmTap(llm.mock.port);
 *   startRuntimeApp({ llmBaseUrl: `${tap.url}/v1` })
 *   await tap.waitUntilClosed('Tell me a long story', 1000);   // ms it took, or throws
 */
export interface LlmTap {
  url: string;
  /** True once a connection has carried a request whose bytes contain `marker`. */
  seen(marker: string): boolean;
  /** Resolves with the close time (epoch ms) of the connection that carried `marker`. */
  waitUntilClosed(marker: string, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

interface Tapped {
  sent: string;
  closedAt: number | null;
}

export async function startLlmTap(targetPort: number): Promise<LlmTap> {
  const connections: Tapped[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const tapped: Tapped = { sent: '', closedAt: null };
    connections.push(tapped);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      // Bounded: the markers are in the first request's body, bodies are small.
      if (tapped.sent.length < 1_000_000) tapped.sent += chunk.toString('utf8');
    });
    client.pipe(upstream).pipe(client);
    const closeBoth = () => {
      tapped.closedAt ??= Date.now();
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const carrying = (marker: string) => connections.filter((c) => c.sent.includes(marker));

  return {
    url: `http://127.0.0.1:${port}`,
    seen: (marker) => carrying(marker).length > 0,
    waitUntilClosed: async (marker, timeoutMs) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = carrying(marker);
        if (found.length > 0 && found.every((c) => c.closedAt !== null)) {
          return Math.max(...found.map((c) => c.closedAt!));
        }
        if (Date.now() > until) {
          throw new Error(
            found.length === 0
              ? `No request to the LLM carried "${marker}"`
              : `The LLM connection carrying "${marker}" was still open after ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
