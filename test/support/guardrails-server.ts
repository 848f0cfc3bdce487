import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback server speaking Copilot Cloud's guardrails protocol (upstream.jsonl, guardrails_*):
 * `POST /guardrails/validate {input, validTopics, invalidTopics, messages}` with the
 * `X-CopilotCloud-Public-API-Key` header → `{status: "allowed"|"denied", reason}`.
 * It denies an input naming one of `invalidTopics` (upstream's reason text), allows the rest, and
 * misbehaves on purpose for inputs containing `SLOW` (never answers), `GARBAGE` (HTML), `NO_STATUS`
 * (JSON without a status), `HTTP_500` and `RESET` (drops the connection).
 */
export interface GuardrailsServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  received: Array<{ path: string; headers: IncomingMessage['headers']; body: any }>;
  stop(): Promise<void>;
}

export async function startGuardrailsServer(): Promise<GuardrailsServer> {
  const received: GuardrailsServer['received'] = [];
  const held = new Set<ServerResponse>();
  const server = createServer(async (req, res) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    const body = JSON.parse(text || '{}');
    received.push({ path: req.url ?? '', headers: req.headers, body });
    const input = String(body.input ?? '');
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.method !== 'POST' || req.url !== '/guardrails/validate') return json(404, { error: 'not found' });
    if (input.includes('SLOW')) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (input.includes('GARBAGE')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html>gateway says hi</html>');
    }
    if (input.includes('NO_STATUS')) return json(200, { verdict: 'fine' });
    if (input.includes('HTTP_500')) return json(500, { error: 'internal' });
    if (input.includes('RESET')) return req.socket.destroy();
    const topic = (body.invalidTopics ?? []).find((candidate: string) => input.includes(candidate));
    if (topic) return json(200, { status: 'denied', reason: `Topic '${topic}' is not allowed` });
    return json(200, { status: 'allowed' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    stop: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
