/**
 * The v2 operations, whichever way they arrive (REST path under the base path, or the
 * single-route envelope's `method`): one shape, one set of handlers.
 */
export type AgUiCall =
  | { method: 'info' }
  | { method: 'transcribe' }
  | { method: 'agent/run'; agentId: string }
  | { method: 'agent/suggest'; agentId: string }
  | { method: 'agent/connect'; agentId: string }
  | { method: 'agent/stop'; agentId: string; threadId: string }
  | ThreadCall;

/** The thread resource routes (upstream's `/threads...`), served from our own thread catalog. */
export type ThreadCall =
  | { method: 'threads/list'; query: URLSearchParams }
  | { method: 'threads/update'; threadId: string }
  | { method: 'threads/archive'; threadId: string }
  | { method: 'threads/delete'; threadId: string }
  | { method: 'threads/messages'; threadId: string }
  | { method: 'threads/events'; threadId: string }
  | { method: 'threads/state'; threadId: string; query: URLSearchParams };

export type RouteMatch =
  | { kind: 'route'; call: AgUiCall }
  | { kind: 'wrong_method'; allow: string }
  | { kind: 'not_found' };

export function isThreadCall(call: AgUiCall): call is ThreadCall {
  return call.method.startsWith('threads/');
}

/**
 * Matches the part of the URL path after the base path (`/info`, `/agent/x/run`, `/threads/t`,
 * ...) and the HTTP method, as upstream's multi-route router does: GET `/info`, `/threads` and
 * `/threads/:id/messages|events|state`, PATCH and DELETE `/threads/:id`, POST for the rest; a known path with
 * the wrong method is 405 with `Allow`, anything else 404. `search` is the query string (the
 * thread list reads its parameters from it).
 */
export function matchRoute(httpMethod: string, remainder: string, search = ''): RouteMatch {
  const segments = remainder.split('/').filter((segment) => segment !== '');
  const decoded = segments.map(safeDecode);
  if (decoded.some((segment) => segment === null)) return { kind: 'not_found' };
  const byMethod = routesAt(decoded as string[], search);
  if (!byMethod) return { kind: 'not_found' };
  const method = httpMethod.toUpperCase();
  const call = byMethod[method] ?? (method === 'HEAD' ? byMethod.GET : undefined);
  if (call) return { kind: 'route', call };
  return { kind: 'wrong_method', allow: Object.keys(byMethod).join(', ') };
}

/** The calls a path offers, by HTTP method; null for a path we do not serve. */
function routesAt(segments: string[], search: string): Record<string, AgUiCall> | null {
  const [first, second, third, fourth] = segments;
  switch (segments.length) {
    case 1:
      if (first === 'info') return { GET: { method: 'info' } };
      if (first === 'transcribe') return { POST: { method: 'transcribe' } };
      if (first === 'threads') return { GET: { method: 'threads/list', query: new URLSearchParams(search) } };
      return null;
    case 2:
      if (first === 'threads') {
        return { PATCH: { method: 'threads/update', threadId: second! }, DELETE: { method: 'threads/delete', threadId: second! } };
      }
      return null;
    case 3:
      if (first === 'agent' && third === 'run') return { POST: { method: 'agent/run', agentId: second! } };
      if (first === 'agent' && third === 'suggest') return { POST: { method: 'agent/suggest', agentId: second! } };
      if (first === 'agent' && third === 'connect') return { POST: { method: 'agent/connect', agentId: second! } };
      if (first === 'threads' && third === 'archive') return { POST: { method: 'threads/archive', threadId: second! } };
      if (first === 'threads' && third === 'messages') return { GET: { method: 'threads/messages', threadId: second! } };
      if (first === 'threads' && third === 'events') return { GET: { method: 'threads/events', threadId: second! } };
      if (first === 'threads' && third === 'state') {
        return { GET: { method: 'threads/state', threadId: second!, query: new URLSearchParams(search) } };
      }
      return null;
    case 4:
      if (first === 'agent' && third === 'stop') return { POST: { method: 'agent/stop', agentId: second!, threadId: fourth! } };
      return null;
    default:
      return null;
  }
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
