import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { DEFAULT_PATH } from '../graphql/graphql-transport.module.js';
import { AgUiHandlers } from './agui-handlers.service.js';
import { matchRoute } from './agui-routes.js';
import { methodNotAllowed, notFound, sendJson } from './http-answers.js';

type RoutedRequest = IncomingMessage & { originalUrl?: string };

/**
 * The v2 REST routes under the base path (`/info`, `/agent/:id/run|connect|stop/:threadId`,
 * `/transcribe`). Bound to `<base>/*` as a middleware rather than a controller because the base
 * path is a runtime option. Everything under the base path is ours: an unknown path is 404 and a
 * wrong method 405 here, as upstream (Apollo, mounted on the base path as a prefix, would answer
 * them otherwise).
 */
@Injectable()
export class AgUiRoutesMiddleware implements NestMiddleware {
  private readonly base: string;

  constructor(
    private readonly handlers: AgUiHandlers,
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
  ) {
    this.base = (options.path ?? DEFAULT_PATH).replace(/\/+$/, '');
  }

  use(req: RoutedRequest, res: ServerResponse, next: () => void): void {
    // Preflights belong to the host app's CORS set-up.
    if (req.method === 'OPTIONS') return next();
    const { pathname } = new URL(req.originalUrl ?? req.url ?? '/', 'http://localhost');
    const remainder = pathname.startsWith(`${this.base}/`) ? pathname.slice(this.base.length) : null;
    // `<base>/` is the base path itself, GraphQL's as it was before the v2 routes.
    if (remainder === null || remainder.replaceAll('/', '') === '') return next();
    const match = matchRoute(req.method ?? 'GET', remainder);
    if (match.kind === 'not_found') return sendJson(res, notFound());
    if (match.kind === 'wrong_method') return sendJson(res, methodNotAllowed(match.allow));
    void this.handlers.serve(match.call, { from: 'request' }, req, res);
  }
}
