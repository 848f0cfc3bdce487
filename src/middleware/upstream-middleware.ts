import type { Message } from '@ag-ui/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { codeForStatus, type CopilotRequestMiddleware, type MiddlewareOutcome, type MiddlewareRequest } from './copilot-middleware.js';
import { toUpstreamMessages, type UpstreamMessage } from './upstream-messages.js';

/** Upstream v1's `middleware` option (`@copilotkit/runtime` 1.10), argument shapes as upstream's. */
export interface UpstreamV1Middleware {
  /** Awaited before the run; may change `properties` in place; throwing refuses the request. */
  onBeforeRequest?(options: {
    threadId: string;
    runId: string;
    inputMessages: UpstreamMessage[];
    properties: Record<string, unknown>;
    url?: string;
  }): void | Promise<void>;
  /** Once the run ended (every ending, not only success); cannot change the answer. */
  onAfterRequest?(options: {
    threadId: string;
    runId: string;
    inputMessages: UpstreamMessage[];
    outputMessages: UpstreamMessage[];
    properties: Record<string, unknown>;
    url?: string;
  }): void | Promise<void>;
  /** A stopped run (a stop request, or the client went away). */
  onStopGeneration?(options: {
    threadId: string;
    runId: string;
    url?: string;
    agentName: string;
    lastMessage: UpstreamMessage | undefined;
  }): void | Promise<void>;
}

/**
 * Upstream v2's `beforeRequestMiddleware`. `request` is a Fetch `Request` for the run: the
 * request's URL and headers, and as body the run's AG-UI input (`{threadId, runId, messages,
 * tools, context, state, forwardedProps}`, also for v1 requests). Returning a `Request` applies
 * its headers to the headers forwarded to agents and its body's `forwardedProps` and `context`
 * to the run's properties and context; `throw new Response(body, {status})` refuses the request
 * with that answer. `runtime` is undefined (there is no upstream CopilotRuntime object here).
 */
export type UpstreamBeforeRequestMiddleware = (options: {
  runtime: undefined;
  request: Request;
  path: string;
}) => void | Request | Promise<void | Request>;

/**
 * Upstream v2's `afterRequestMiddleware`, once the run ended: `messages` are the input and output
 * messages (AG-UI). `response` is undefined: the answer was a stream already sent; read `status`,
 * `error` and `usage` instead.
 */
export type UpstreamAfterRequestMiddleware = (options: {
  runtime: undefined;
  response: undefined;
  path: string;
  messages: Message[];
  threadId: string;
  runId: string;
  status: MiddlewareOutcome['status'];
  error: MiddlewareOutcome['error'];
  usage: MiddlewareOutcome['usage'];
}) => void | Promise<void>;

/** Upstream v1's `middleware` option as one CopilotRequestMiddleware. */
export function fromUpstreamV1(options: UpstreamV1Middleware): CopilotRequestMiddleware {
  return {
    name: 'middleware (options)',
    beforeRequest: options.onBeforeRequest
      ? (request) =>
          options.onBeforeRequest!({
            threadId: request.threadId,
            runId: request.runId,
            inputMessages: toUpstreamMessages(request.inputMessages, 'object'),
            properties: request.properties,
            url: request.url,
          })
      : undefined,
    afterRequest: options.onAfterRequest
      ? (outcome) =>
          options.onAfterRequest!({
            threadId: outcome.threadId,
            runId: outcome.runId,
            inputMessages: toUpstreamMessages(outcome.inputMessages, 'object'),
            outputMessages: toUpstreamMessages(outcome.outputMessages, 'text'),
            properties: outcome.properties,
            url: outcome.url,
          })
      : undefined,
    onStop: options.onStopGeneration
      ? (outcome) =>
          options.onStopGeneration!({
            threadId: outcome.threadId,
            runId: outcome.runId,
            url: outcome.url,
            agentName: outcome.agentId,
            lastMessage: toUpstreamMessages(outcome.inputMessages, 'object').at(-1),
          })
      : undefined,
  };
}

/** Upstream v2's `beforeRequestMiddleware` / `afterRequestMiddleware` as one CopilotRequestMiddleware. */
export function fromUpstreamV2(
  before: UpstreamBeforeRequestMiddleware | undefined,
  after: UpstreamAfterRequestMiddleware | undefined,
): CopilotRequestMiddleware {
  return {
    name: 'beforeRequestMiddleware/afterRequestMiddleware (options)',
    beforeRequest: before
      ? async (request) => {
          const incoming = fetchRequest(request);
          const replaced = await before({ runtime: undefined, request: incoming, path: new URL(incoming.url).pathname });
          if (replaced instanceof Request) await applyReplacement(request, incoming, replaced);
        }
      : undefined,
    afterRequest: after
      ? (outcome) =>
          after({
            runtime: undefined,
            response: undefined,
            path: outcome.url ? safePath(outcome.url) : '',
            messages: [...outcome.inputMessages, ...outcome.outputMessages],
            threadId: outcome.threadId,
            runId: outcome.runId,
            status: outcome.status,
            error: outcome.error,
            usage: outcome.usage,
          })
      : undefined,
  };
}

function fetchRequest(request: MiddlewareRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    // HTTP/2 pseudo-headers and hop-by-hop ones are not Fetch headers.
    if (value === undefined || name.startsWith(':')) continue;
    try {
      headers.set(name, value);
    } catch {
      // A header Fetch refuses (invalid characters): the middleware does not see it.
    }
  }
  headers.delete('content-length');
  const url = request.url && /^https?:\/\//.test(request.url) ? request.url : 'http://localhost/';
  return new Request(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      threadId: request.threadId,
      runId: request.runId,
      messages: request.inputMessages,
      context: request.context,
      forwardedProps: request.properties,
    }),
  });
}

/** What a returned Request may change: forwarded headers (as a difference), properties and context. */
async function applyReplacement(request: MiddlewareRequest, incoming: Request, replaced: Request): Promise<void> {
  for (const [name, value] of replaced.headers) {
    if (incoming.headers.get(name) !== value) request.forwardedHeaders[name] = value;
  }
  for (const [name] of incoming.headers) {
    if (!replaced.headers.has(name)) delete request.forwardedHeaders[name];
  }
  if (replaced.body === null || replaced === incoming) return;
  let body: unknown;
  try {
    body = await replaced.json();
  } catch (error) {
    throw new CopilotRuntimeError('MIDDLEWARE_FAILED', 'beforeRequestMiddleware returned a Request whose body is not JSON.', { cause: error });
  }
  const { forwardedProps, context } = (body ?? {}) as { forwardedProps?: unknown; context?: unknown };
  if (isObject(forwardedProps)) request.properties = { ...forwardedProps };
  if (Array.isArray(context)) request.context = context as MiddlewareRequest['context'];
}

/** A thrown `Response` (upstream v2's way to refuse): its status and body, as they are. */
export async function rejectionFromResponse(response: Response): Promise<CopilotRuntimeError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    text = '';
  }
  const contentType = response.headers.get('content-type') ?? 'text/plain;charset=UTF-8';
  let message = `The request was rejected (HTTP ${response.status}).`;
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const said = parsed.message ?? parsed.error;
    if (typeof said === 'string' && said !== '') message = said;
  } catch {
    if (text.trim() !== '') message = text.trim().slice(0, 500);
  }
  return new CopilotRuntimeError(codeForStatus(response.status), message, {
    httpStatus: response.status >= 400 && response.status <= 599 ? response.status : 403,
    httpBody: text === '' ? undefined : { text, contentType },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}
