import type { IncomingMessage } from 'node:http';

/**
 * Whether a request's body is declared JSON (`application/json`, `application/*+json`, any
 * parameters). A browser sends `text/plain`, a form type or none without a CORS preflight (a
 * "simple request"), so a POST that is not declared JSON may come from any page the user has open:
 * it must not start, stop or change anything. The real clients (v1 urql, v2 @copilotkit/core)
 * always declare JSON.
 */
export function declaresJson(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type);
}

export const UNSUPPORTED_MEDIA_TYPE_MESSAGE =
  'POST bodies must be sent with "Content-Type: application/json"; other content types are refused (a browser sends them cross-site without a CORS preflight).';
