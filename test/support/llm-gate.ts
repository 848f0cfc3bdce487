import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP pass-through in front of the mock LLM that holds the model call of one request (found by
 * a marker in its body) until the test releases it: the model is silent for exactly as long as the
 * test needs (say, until the client has seen three keep-alives), not for a fixed time.
 *
 *   const gate = await startLlmGate(llm.url);
 *   startRuntimeApp({ llmBaseUrl: gate.baseURL })
 *   const held = gate.hold('Think before answering');
 *   ... await waitFor(() => keepAlives() >= 3); held.release();
 */
export interface LlmGate {
  /** What OpenAI clients take as their base URL (`/v1` on the gate). */
  baseURL: string;
  /** Holds every request whose body contains `marker` until `release()`. */
  hold(marker: string): { release(): void };
  stop(): Promise<void>;
}

/** Hop-by-hop or recomputed by fetch: not forwarded. */
const NOT_FORWARDED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export async function startLlmGate(targetUrl: string): Promise<LlmGate> {
  const holds = new Map<string, { released: Promise<void>; release(): void }>();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    for (const [marker, hold] of holds) if (text.includes(marker)) await hold.released;

    const upstreamAbort = new AbortController();
    res.on('close', () => upstreamAbort.abort());
    try {
      const upstream = await fetch(new URL(req.url ?? '/', targetUrl), {
        method: req.method,
        headers: forwardable(req.headers),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
        signal: upstreamAbort.signal,
      });
      const headers = Object.fromEntries([...upstream.headers].filter(([name]) => !NOT_FORWARDED.has(name)));
      res.writeHead(upstream.status, headers);
      if (upstream.body) for await (const chunk of upstream.body) res.write(chunk);
      res.end();
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    hold: (marker) => {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const hold = { released, release: () => (holds.delete(marker), release()) };
      holds.set(marker, hold);
      return { release: hold.release };
    },
    stop: async () => {
      for (const hold of [...holds.values()]) hold.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function forwardable(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name, value]) => !NOT_FORWARDED.has(name) && value !== undefined)
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value!]),
  );
}
