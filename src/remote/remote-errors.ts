import { CopilotRuntimeError, type ErrorCode } from '../common/errors.js';
import type { RemoteEndpoint } from './remote-endpoint-config.js';

/** Remote answers are echoed to users: one line, bounded. */
const MAX_DETAIL_LENGTH = 300;

/**
 * An HTTP failure of a remote endpoint as a CopilotKit error naming the endpoint (never its
 * headers): 404 REMOTE_ENDPOINT_NOT_FOUND, 401 AUTHENTICATION_ERROR, 408 and 5xx NETWORK_ERROR,
 * other 4xx (429 included, once its retries are spent, as for LLM providers) CONFIGURATION_ERROR.
 */
export function httpFailure(endpoint: RemoteEndpoint, path: string, status: number, body: string): CopilotRuntimeError {
  const said = `${endpoint.label}${path} answered ${status}${detailOf(body)}`;
  const [code, advice] = classify(status);
  return new CopilotRuntimeError(code, `Remote endpoint ${said}. ${advice}`);
}

function classify(status: number): [ErrorCode, string] {
  if (status === 404) return ['REMOTE_ENDPOINT_NOT_FOUND', 'Check the endpoint URL (remoteEndpoints / REMOTE_ENDPOINTS).'];
  if (status === 401) return ['AUTHENTICATION_ERROR', "Check the endpoint's headers (its credentials)."];
  if (status === 408 || status >= 500) return ['NETWORK_ERROR', 'Try again later.'];
  if (status === 429) return ['CONFIGURATION_ERROR', 'It is rate limiting: retry later or raise its limits.'];
  return ['CONFIGURATION_ERROR', 'Check the endpoint and what is sent to it.'];
}

/** A connection that failed or hung: NETWORK_ERROR naming the endpoint. */
export function networkFailure(endpoint: RemoteEndpoint, path: string, cause: unknown, timedOut: boolean): CopilotRuntimeError {
  const what = timedOut
    ? `did not answer within ${endpoint.timeoutMs} ms`
    : `could not be reached (${connectionDetail(cause)})`;
  return new CopilotRuntimeError('NETWORK_ERROR', `Remote endpoint ${endpoint.label}${path} ${what}. Try again later.`, { cause });
}

/** The endpoint answered something that is not its protocol. */
export function protocolFailure(endpoint: RemoteEndpoint, path: string, problem: string): CopilotRuntimeError {
  return new CopilotRuntimeError('NETWORK_ERROR', `Remote endpoint ${endpoint.label}${path} sent an invalid answer: ${oneLine(problem)}`);
}

function connectionDetail(error: unknown): string {
  // undici wraps the socket error: `TypeError: fetch failed` with `cause.code` ECONNREFUSED etc.
  const chain: unknown[] = [];
  for (let current = error; current && chain.length < 5; current = (current as { cause?: unknown }).cause) chain.push(current);
  for (const link of chain) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return oneLine((error as Error | undefined)?.message ?? String(error));
}

function detailOf(body: string): string {
  const text = oneLine(body);
  return text ? `: ${text}` : '';
}

export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_LENGTH ? `${flat.slice(0, MAX_DETAIL_LENGTH)}…` : flat;
}
