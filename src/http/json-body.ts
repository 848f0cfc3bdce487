import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';

type BodyRequest = IncomingMessage & { body?: unknown };

export type BodyRead =
  | { ok: true; body: unknown }
  | { ok: false; problem: 'too_large' | 'invalid_json' | 'unreadable'; message: string };

/**
 * Reads a request's JSON body with the configured limit (BODY_LIMIT), whatever its content type
 * (neither the GraphQL client's requests nor upstream's v2 REST routes are checked for it), and
 * says precisely what was wrong with one that cannot be read. Also sets `req.body`. No body reads
 * as `{}` (a v2 stop's body is optional). A body the host app already parsed is taken as is:
 * body-parser skips a request whose stream was consumed.
 *
 * One reader per application (HttpEdgeModule provides it), and a request's body is read once:
 * the edge reads a base-path body to decide which protocol it belongs to, and the transport that
 * serves it asks again and gets the same outcome (a stream cannot be read twice, and a failed
 * read must be answered by whoever serves the request).
 */
export class JsonBodyReader {
  private readonly parse: ReturnType<typeof express.json>;
  private readonly reads = new WeakMap<IncomingMessage, Promise<BodyRead>>();

  constructor(readonly limit: string | number) {
    this.parse = express.json({ limit, type: () => true, strict: false });
  }

  read(req: IncomingMessage, res: ServerResponse): Promise<BodyRead> {
    let read = this.reads.get(req);
    if (!read) {
      read = this.parseOnce(req, res);
      this.reads.set(req, read);
    }
    return read;
  }

  private parseOnce(req: IncomingMessage, res: ServerResponse): Promise<BodyRead> {
    const request = req as BodyRequest;
    return new Promise((resolve) => {
      this.parse(req as express.Request, res as express.Response, (error?: unknown) => {
        if (!error) return resolve({ ok: true, body: request.body ?? {} });
        const { type, message } = error as { type?: string; message?: string };
        if (type === 'entity.too.large') resolve({ ok: false, problem: 'too_large', message: message ?? 'too large' });
        else if (type === 'entity.parse.failed') resolve({ ok: false, problem: 'invalid_json', message: message ?? 'parse error' });
        else resolve({ ok: false, problem: 'unreadable', message: message ?? type ?? 'unknown error' });
      });
    });
  }
}
