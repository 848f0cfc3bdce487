import type { IncomingHttpHeaders } from 'node:http';

/** The prefix of every API key: tells it apart from a JWT in `Authorization: Bearer`. */
export const API_KEY_PREFIX = 'ck_';

export type PresentedCredential =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'api_key'; key: string }
  | { kind: 'malformed'; detail: string };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * What the caller presented: `X-API-Key: ck_...`, `Authorization: Bearer ck_...` (an API key),
 * `Authorization: Bearer <JWT>`, nothing, or something unreadable. Both headers at once are
 * refused rather than guessed between.
 */
export function presentedCredential(headers: IncomingHttpHeaders): PresentedCredential {
  const authorization = single(headers.authorization);
  const apiKeyHeader = single(headers['x-api-key']);
  if (authorization === undefined && apiKeyHeader === undefined) return { kind: 'none' };
  if (authorization !== undefined && apiKeyHeader !== undefined) {
    return { kind: 'malformed', detail: 'both Authorization and X-API-Key were sent' };
  }
  if (apiKeyHeader !== undefined) {
    const key = apiKeyHeader.trim();
    return key.startsWith(API_KEY_PREFIX) ? { kind: 'api_key', key } : { kind: 'malformed', detail: 'X-API-Key is not an API key' };
  }
  const match = BEARER.exec(authorization!);
  if (!match) return { kind: 'malformed', detail: 'Authorization is not "Bearer <token>"' };
  const token = match[1]!;
  return token.startsWith(API_KEY_PREFIX) ? { kind: 'api_key', key: token } : { kind: 'bearer', token };
}

function single(value: string | string[] | undefined): string | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : value.join(',');
  return value === undefined || value === '' ? undefined : value;
}
