import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { wireExtensions } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { Edges } from './edges.js';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const EXPOSED_HEADERS = 'x-copilotkit-runtime-version, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * CORS for everything under the base path (GraphQL, AG-UI routes, the single route), deny by
 * default (OriginPolicy). An allowed origin is echoed with credentials; `*` configured answers
 * `*` and never with credentials (browsers refuse the pair, and it would hand every site the
 * user's cookies). A request from an origin that is not allowed is refused here with 403 before
 * any work, preflight or not: a browser's "simple request" (a form POST, a GET) needs no
 * preflight, so withholding the CORS headers alone would not stop its side effects.
 */
@Injectable()
export class CorsMiddleware implements NestMiddleware {
  private readonly logger = new Logger('Cors');

  constructor(private readonly edges: Edges) {}

  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    const policy = this.edges.origins;
    if (!policy) return next();
    const verdict = policy.judge(req);
    if (verdict === 'no-origin' || verdict === 'same-origin') return next();
    if (verdict === 'denied') return this.refuse(req, res);

    res.setHeader('vary', 'Origin');
    if (policy.wildcard) {
      res.setHeader('access-control-allow-origin', '*');
    } else {
      res.setHeader('access-control-allow-origin', req.headers.origin!);
      res.setHeader('access-control-allow-credentials', 'true');
    }
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
      const requested = req.headers['access-control-request-headers'];
      if (requested) res.setHeader('access-control-allow-headers', requested);
      res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE_S);
      res.statusCode = 204;
      res.setHeader('content-length', '0');
      return void res.end();
    }
    next();
  }

  private refuse(req: IncomingMessage, res: ServerResponse): void {
    const errorId = newId('err');
    const message = `Origin ${JSON.stringify(req.headers.origin)} is not allowed: add it to CORS_ORIGINS.`;
    this.logger.warn(`[${errorId}] ORIGIN_NOT_ALLOWED: ${message} (${req.method} ${req.url} from ${req.socket.remoteAddress})`);
    const body = JSON.stringify({
      error: 'origin_not_allowed',
      code: 'ORIGIN_NOT_ALLOWED',
      message,
      errorId,
      errors: [{ message, extensions: wireExtensions('ORIGIN_NOT_ALLOWED', errorId) }],
    });
    res.statusCode = 403;
    res.setHeader('vary', 'Origin');
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  }
}
