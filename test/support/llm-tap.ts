import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { waitFor } from './wait-for.js';

/**
 * A TCP pass-through between the runtime and the mock LLM that remembers, per client connection,
 * what the runtime sent on it and which side hung up first. Tells whether the model call of one
 * particular request (found by a marker in its body) was hung up by the runtime rather than ended
 * by the model (aimock's own cut), even when other connections stay open in the keep-alive pool:
 * a fact about who closed, not a guess from how long it took.
 *
 *   const tap = await startLlmTap(llm.mock.port);
 *   startRuntimeApp({ llmBaseUrl: `${tap.url}/v1` })
 *   expect(await tap.waitUntilClosed('Tell me a long story')).toBe('runtime');
 */
export interface LlmTap {
  url: string;
  /** True once a connection has carried a request whose bytes contain `marker`. */
  seen(marker: string): boolean;
  /**
   * Waits (see waitFor) until the connections that carried `marker` are closed; resolves with who
   * hung up first: `runtime` when it did on every one of them, else `model`.
   */
  waitUntilClosed(marker: string): Promise<HungUpBy>;
  stop(): Promise<void>;
}

export type HungUpBy = 'runtime' | 'model';

interface Tapped {
  sent: string;
  hungUpBy: HungUpBy | null;
}

export async function startLlmTap(targetPort: number): Promise<LlmTap> {
  const connections: Tapped[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const tapped: Tapped = { sent: '', hungUpBy: null };
    connections.push(tapped);
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      // Bounded: the markers are in the first request's body, bodies are small.
      if (tapped.sent.length < 1_000_000) tapped.sent += chunk.toString('utf8');
    });
    client.pipe(upstream).pipe(client);
    const hungUp = (side: HungUpBy) => () => {
      tapped.hungUpBy ??= side;
    };
    // First of FIN, reset (an abort resets: 'error' comes before the other side is torn down) or close.
    for (const event of ['end', 'error', 'close']) {
      client.once(event, hungUp('runtime'));
      upstream.once(event, hungUp('model'));
    }
    const closeBoth = () => {
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
    waitUntilClosed: async (marker) => {
      const closed = await waitFor(() => {
        const found = carrying(marker);
        if (found.length === 0) throw new Error(`No request to the LLM carried "${marker}" yet`);
        if (found.some((c) => c.hungUpBy === null)) throw new Error(`The LLM connection carrying "${marker}" is still open`);
        return found;
      });
      return closed.every((c) => c.hungUpBy === 'runtime') ? 'runtime' : 'model';
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
