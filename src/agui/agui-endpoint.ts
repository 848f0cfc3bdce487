import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgUiEndpoint, type UnreadableBody } from '../http/base-path-dispatch.js';
import { AgUiHandlers } from './agui-handlers.service.js';
import { matchRoute } from './agui-routes.js';
import { declaresJson } from '../edges/content-type.js';
import { methodNotAllowed, notFound, sendJson, unsupportedMediaType } from './http-answers.js';
import { SingleRouteEnvelope } from './single-route-envelope.js';

/**
 * What the edge's dispatch hands to AG-UI: the v2 REST routes under the base path (`/info`,
 * `/agent/:id/run|suggest|connect|stop/:threadId`, `/transcribe`, `/threads...`) and the single-route envelope POSTed to
 * the base path itself. Everything under the base path is ours: an unknown path is 404 and a wrong
 * method 405 here, as upstream (Apollo, mounted on the base path as a prefix, would answer them
 * otherwise).
 */
@Injectable()
export class AgUiHttpEndpoint extends AgUiEndpoint {
  constructor(
    private readonly handlers: AgUiHandlers,
    private readonly envelope: SingleRouteEnvelope,
  ) {
    super();
  }

  serveRoute(req: IncomingMessage, res: ServerResponse, remainder: string): void {
    const match = matchRoute(req.method ?? 'GET', remainder, new URL(req.url ?? '/', 'http://localhost').search);
    if (match.kind === 'not_found') return sendJson(res, notFound());
    if (match.kind === 'wrong_method') return sendJson(res, methodNotAllowed(match.allow));
    if (req.method === 'POST' && match.call.method !== 'transcribe' && !declaresJson(req)) {
      return sendJson(res, unsupportedMediaType());
    }
    void this.handlers.serve(match.call, { from: 'request' }, req, res);
  }

  serveEnvelope(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    this.envelope.serve(req, res, body);
  }

  rejectBody(req: IncomingMessage, res: ServerResponse, problem: UnreadableBody): void {
    this.envelope.reject(req, res, problem);
  }
}
