/**
 * The v2 operations, whichever way they arrive (REST path under the base path, or the
 * single-route envelope's `method`): one shape, one set of handlers.
 */
export type AgUiCall =
  | { method: 'info' }
  | { method: 'transcribe' }
  | { method: 'agent/run'; agentId: string }
  | { method: 'agent/connect'; agentId: string }
  | { method: 'agent/stop'; agentId: string; threadId: string };

export type RouteMatch =
  | { kind: 'route'; call: AgUiCall }
  | { kind: 'wrong_method'; allow: string }
  | { kind: 'not_found' };

/**
 * Matches the part of the URL path after the base path (`/info`, `/agent/x/run`, ...) and the
 * HTTP method, as upstream's multi-route router does: GET `/info`, POST for the rest; a known
 * path with the wrong method is 405 with `Allow`, anything else 404.
 */
export function matchRoute(httpMethod: string, remainder: string): RouteMatch {
  const segments = remainder.split('/').filter((segment) => segment !== '');
  const decoded = segments.map(safeDecode);
  if (decoded.some((segment) => segment === null)) return { kind: 'not_found' };
  const [first, second, third, fourth] = decoded as string[];
  let call: AgUiCall | null = null;
  if (segments.length === 1 && first === 'info') call = { method: 'info' };
  else if (segments.length === 1 && first === 'transcribe') call = { method: 'transcribe' };
  else if (segments.length === 3 && first === 'agent' && third === 'run') call = { method: 'agent/run', agentId: second };
  else if (segments.length === 3 && first === 'agent' && third === 'connect') call = { method: 'agent/connect', agentId: second };
  else if (segments.length === 4 && first === 'agent' && third === 'stop') {
    call = { method: 'agent/stop', agentId: second, threadId: fourth };
  }
  if (!call) return { kind: 'not_found' };
  const allow = call.method === 'info' ? 'GET' : 'POST';
  const method = httpMethod.toUpperCase();
  if (method === allow || (allow === 'GET' && method === 'HEAD')) return { kind: 'route', call };
  return { kind: 'wrong_method', allow };
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
