import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UnreadableBody } from '../http/base-path-dispatch.js';
import { AgUiHandlers } from './agui-handlers.service.js';
import { isThreadCall, matchRoute, type AgUiCall } from './agui-routes.js';
import { invalidEnvelope, methodNotAllowed, notFound, sendJson, type JsonAnswer } from './http-answers.js';

interface Envelope {
  method?: unknown;
  params?: unknown;
  body?: unknown;
}

/** Methods that hand their `body` to the handler as its request body: it must be there. */
const NEEDS_BODY = new Set<AgUiCall['method']>(['agent/run', 'agent/suggest', 'agent/connect', 'transcribe']);

/**
 * The single-route transport: `POST <base>` with `{method, params, body}`, the same operations
 * as the REST routes. It shares the base path with GraphQL: the edge's dispatch parses the body
 * once and hands over the envelopes (a `method` and no `query`: `isAgUiEnvelope`); a GraphQL
 * request never has `method`, an envelope never has `query`. `resource/request` carries a thread
 * resource call (`params: {path: "/threads?agentId=...", httpMethod}`, the REST route's body as
 * `body`), as `@copilotkit/core` sends it when `info.singleRoute.resourceOperations` is set; only
 * the thread routes are reachable that way. Errors are upstream's
 * (`{"error":"invalid_request","message"}`, 400, 413 or 415).
 */
@Injectable()
export class SingleRouteEnvelope {
  constructor(private readonly handlers: AgUiHandlers) {}

  serve(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const resolved = resolveEnvelope(req, body as Envelope);
    if ('status' in resolved) return sendJson(res, resolved);
    void this.handlers.serve(resolved.call, { from: 'envelope', value: resolved.body }, req, res);
  }

  /** A body that could not be read (and that no GraphQL client sent). */
  reject(req: IncomingMessage, res: ServerResponse, problem: UnreadableBody): void {
    if (!isJson(req)) return sendJson(res, notJson());
    if (problem.kind === 'too_large') {
      return sendJson(res, invalidEnvelope(413, `The request body is larger than the limit of ${problem.limit}.`));
    }
    sendJson(res, invalidEnvelope(400, 'Invalid JSON payload'));
  }
}

/** Upstream's order: content type, method, params, then the body the method needs. */
function resolveEnvelope(req: IncomingMessage, envelope: Envelope): { call: AgUiCall; body: unknown } | JsonAnswer {
  if (!isJson(req)) return notJson();
  const { method, params, body } = envelope;
  if (!method) return invalidEnvelope(400, 'Missing method field');
  let call: AgUiCall;
  try {
    switch (method) {
      case 'info':
        call = { method: 'info' };
        break;
      case 'transcribe':
        call = { method: 'transcribe' };
        break;
      case 'agent/run':
      case 'agent/suggest':
      case 'agent/connect':
        call = { method: method as 'agent/run' | 'agent/suggest' | 'agent/connect', agentId: param(params, 'agentId') };
        break;
      case 'resource/request': {
        const resource = resourceCall(param(params, 'path'), param(params, 'httpMethod'));
        if ('status' in resource) return resource;
        call = resource;
        break;
      }
      case 'agent/stop':
        call = { method: 'agent/stop', agentId: param(params, 'agentId'), threadId: param(params, 'threadId') };
        break;
      default:
        return invalidEnvelope(400, `Unsupported method '${String(method)}'`);
    }
  } catch (missing) {
    return invalidEnvelope(400, `Missing or invalid parameter '${(missing as MissingParameter).name}'`);
  }
  if (NEEDS_BODY.has(call.method) && (body === undefined || body === null)) {
    return invalidEnvelope(400, 'Missing request body for JSON handler');
  }
  return { call, body };
}

/** The thread route a `resource/request` names (404 for any other path, as upstream). */
function resourceCall(path: string, httpMethod: string): AgUiCall | JsonAnswer {
  let url: URL;
  try {
    url = new URL(path, 'http://localhost');
  } catch {
    return notFound();
  }
  const match = matchRoute(httpMethod, url.pathname, url.search);
  if (match.kind === 'not_found' || (match.kind === 'route' && !isThreadCall(match.call))) return notFound();
  if (match.kind === 'wrong_method') return methodNotAllowed(match.allow);
  return match.call;
}

class MissingParameter {
  constructor(readonly name: string) {}
}

function param(params: unknown, name: string): string {
  const value = isObject(params) ? params[name] : undefined;
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new MissingParameter(name);
}

function notJson(): JsonAnswer {
  return invalidEnvelope(415, 'Single-route endpoint expects JSON payloads');
}

function isJson(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().includes('application/json');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
