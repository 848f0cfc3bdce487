/**
 * The OpenAI SDK on dispatcherFetch (undici's dispatcher API instead of WHATWG fetch), against a
 * real local HTTP server: what the SDK reads of a response (a streamed answer, an error's status,
 * body and headers), redirects, a cancel in the middle of an answer, a refused connection, and
 * what is not a string body going to the global fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { dispatcherFetch } from '../../src/llm/dispatcher-fetch.js';

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe('dispatcherFetch under the OpenAI SDK', () => {
  let server: Server;
  let baseURL: string;
  const seen: Array<{ method: string; url: string; body: string; contentType?: string }> = [];
  let slowClosed: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (piece: Buffer) => (body += piece.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, body, contentType: req.headers['content-type'] });
        if (req.url === '/moved/chat/completions') {
          res.writeHead(307, { location: '/v1/chat/completions' }).end();
        } else if (req.url === '/limited/chat/completions') {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7', 'x-request-id': 'req-limited' });
          res.end(JSON.stringify({ error: { message: 'Slow down', type: 'rate_limit', code: 'rate_limit_exceeded' } }));
        } else if (req.url === '/slow/chat/completions') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(chunk('first '));
          slowClosed = once(res, 'close');
        } else if (req.url === '/gzip/chat/completions') {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
          res.end(gzipSync(chunk('Squeezed') + chunk(' answer') + 'data: [DONE]\n\n'));
        } else if (req.url === '/gzip-error/chat/completions') {
          res.writeHead(400, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ error: { message: 'Bad squeeze', type: 'invalid_request_error' } })));
        } else if (req.url === '/upload') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
        } else {
          res.writeHead(200, { 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] });
          res.end(chunk('Hello') + chunk(', ') + chunk('world') + 'data: [DONE]\n\n');
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const client = (path: string) => new OpenAI({ apiKey: 'sk-test', baseURL: `${baseURL}${path}`, fetch: dispatcherFetch, maxRetries: 0 });
  const ask = (openai: OpenAI, signal?: AbortSignal) =>
    openai.chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { signal });

  it('streams an answer chunk by chunk and hands the SDK every header', async () => {
    const { data: stream, response } = await ask(client('/v1')).withResponse();
    const pieces: string[] = [];
    for await (const part of stream) pieces.push(part.choices[0]!.delta.content ?? '');
    expect(pieces).toEqual(['Hello', ', ', 'world']);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    const request = seen.find((entry) => entry.url === '/v1/chat/completions')!;
    expect(request.method).toBe('POST');
    expect(JSON.parse(request.body)).toMatchObject({ model: 'm', stream: true });
  });

  it("gives the SDK an error's status, body and headers", async () => {
    const failure = await ask(client('/limited')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.RateLimitError);
    const error = failure as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.message).toContain('Slow down');
    expect(error.headers?.get('retry-after')).toBe('7');
    expect(error.requestID).toBe('req-limited');
  });

  it('follows a redirect as fetch does (307: the same POST, body and all, to the new place)', async () => {
    const pieces: string[] = [];
    for await (const part of await ask(client('/moved'))) pieces.push(part.choices[0]!.delta.content ?? '');
    expect(pieces.join('')).toBe('Hello, world');
    const [moved, landed] = seen.filter((entry) => entry.url === '/moved/chat/completions' || entry.url === '/v1/chat/completions').slice(-2);
    expect(moved!.url).toBe('/moved/chat/completions');
    expect(landed).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
    expect(JSON.parse(landed!.body)).toMatchObject({ model: 'm' });
  });

  it('decodes an answer a gateway compressed without being asked, as fetch would, errors included', async () => {
    const pieces: string[] = [];
    for await (const part of await ask(client('/gzip'))) pieces.push(part.choices[0]!.delta.content ?? '');
    expect(pieces.join('')).toBe('Squeezed answer');
    const failure = await ask(client('/gzip-error')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as Error).message).toContain('Bad squeeze');
  });

  it('a cancel in the middle of an answer ends the iteration quietly and closes the connection', async () => {
    const controller = new AbortController();
    const pieces: string[] = [];
    for await (const part of await ask(client('/slow'), controller.signal)) {
      pieces.push(part.choices[0]!.delta.content ?? '');
      controller.abort();
    }
    expect(pieces).toEqual(['first ']);
    await slowClosed; // the server saw the request go away
  });

  it('a refused connection is an APIConnectionError with the socket error underneath', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `http://127.0.0.1:${port}/v1`, fetch: dispatcherFetch, maxRetries: 0 });
    const failure = await ask(openai).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIConnectionError);
    // The socket's own error (its code is lost here only because the SDK copies errors from
    // another realm, Jest's VM, into a new Error).
    expect((failure as { cause?: Error }).cause?.message).toMatch(/ECONNREFUSED/);
  });

  it('what is not a string body (a multipart upload) goes to the global fetch', async () => {
    const form = new FormData();
    form.append('file', new Blob(['audio bytes']), 'a.wav');
    const response = await dispatcherFetch(`${baseURL}/upload`, { method: 'POST', body: form });
    expect(response).toBeInstanceOf(Response);
    expect(await response.json()).toEqual({ ok: true });
    expect(seen.at(-1)!.contentType).toMatch(/^multipart\/form-data; boundary=/);
  });
});
