import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { newId } from '../../common/ids.js';
import { requestLogContext } from './log-context.js';

/** An inbound `x-request-id` (from nginx, another service) is kept when it looks like an id. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Probes and scrapes: a line per call would drown the log. */
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * The HTTP edge of the logs, mounted first (bootstrap.ts): gives the request its id (the inbound
 * `x-request-id` or a new one, written back on the request so RequestContexts uses the same, and
 * echoed in the response), creates its LogContext (RequestContexts hands it to the pipeline), and
 * logs one line when it completes (method, path without the query, status, duration, and the
 * identity, thread and run the pipeline put in the LogContext). Headers are not logged.
 */
export function httpLogging(logger: Logger): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  const log = pinoHttp({
    logger,
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    genReqId: (req, res) => {
      const claimed = req.headers['x-request-id'];
      const id = typeof claimed === 'string' && REQUEST_ID.test(claimed) ? claimed : newId('req');
      req.headers['x-request-id'] = id;
      res.setHeader('x-request-id', id);
      return id;
    },
    // Read again when the request completes: by then the run pipeline has added its fields. At the
    // start there is nothing yet, and undefined spares pino-http a child logger per request.
    customProps: (req) => {
      const { requestId: _bound, ...learned } = requestLogContext(req);
      // pino-http's type says object; it skips the child when given nothing.
      return (Object.keys(learned).length > 0 ? learned : undefined) as object;
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has(pathOf(req.url)) },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessMessage: requestLine,
    customErrorMessage: requestLine,
    // Our serializers read the three fields they log straight off the request: the default
    // wrapping first copies the request into pino-std-serializers' object (headers, params, …) for
    // every request, since pino serializes a child logger's bindings when the child is made.
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage) => ({ method: req.method, path: pathOf(requestedUrl(req)), remoteAddress: req.socket?.remoteAddress }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
  });
  return (req, res, next) => {
    log(req, res);
    requestLogContext(req, (req as IncomingMessage & { id?: string }).id);
    next();
  };
}

/** The line's message, whether the request succeeded or not: "POST /api/copilotkit 200". */
function requestLine(req: IncomingMessage, res: ServerResponse): string {
  return `${req.method} ${pathOf(requestedUrl(req))} ${res.statusCode}`;
}

/**
 * The URL the client asked for. By the time the line is written, a middleware mounted on a path
 * (the runtime's, on the base path) has had Express strip that path from `req.url`: a GraphQL
 * POST to /api/copilotkit was logged as "POST /".
 */
function requestedUrl(req: IncomingMessage): string | undefined {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url;
}

function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0]!;
}
