import { EventType, type BaseEvent } from '@ag-ui/core';
import type { ErrorCode } from '../common/errors.js';
import type { AgentLimits } from './agent-definition.js';

/**
 * The RUN_ERROR events a failed agent run ends with, one per cause. Every message starts with
 * `Agent '<id>'` so a user seeing it knows which agent to look at; `detail` is for the server log
 * only (it may hold the agent server's answer, which is not ours to show).
 */
export interface AgentRunFailure {
  event: BaseEvent & { message: string; code: ErrorCode };
  detail?: string;
}

/** Messages travel to users: one line, bounded. */
const MAX_DETAIL_LENGTH = 300;

function failure(code: 'AGENT_FAILED' | 'AGENT_TIMEOUT', message: string, detail?: string): AgentRunFailure {
  return { event: { type: EventType.RUN_ERROR, message, code }, detail };
}

/** Wraps what the agent itself raised, to tell it apart from our own grammar check downstream. */
export class AgentUpstreamError extends Error {
  constructor(readonly reason: unknown) {
    super(errorText(reason));
    this.name = 'AgentUpstreamError';
  }
}

const TIMEOUT_WORDING: Record<keyof AgentLimits, (ms: number) => string> = {
  firstEventTimeoutMs: (ms) => `no event within ${ms} ms of the start`,
  idleTimeoutMs: (ms) => `no event for ${ms} ms`,
  totalTimeoutMs: (ms) => `the run took longer than ${ms} ms`,
};

/** `Agent 'x' timed out: no event for 200 ms (idleTimeoutMs).` */
export function timeoutFailure(agentId: string, limit: keyof AgentLimits, ms: number): AgentRunFailure {
  return failure('AGENT_TIMEOUT', `Agent '${agentId}' timed out: ${TIMEOUT_WORDING[limit](ms)} (${limit}).`);
}

/** The agent's own RUN_ERROR, reworded to name the agent; its code goes into the message. */
export function reportedFailure(agentId: string, event: BaseEvent): AgentRunFailure {
  const { message, code } = event as BaseEvent & { message?: unknown; code?: unknown };
  const text = typeof message === 'string' && message.trim() !== '' ? oneLine(message) : 'no message';
  const suffix = typeof code === 'string' && code !== '' ? ` (code ${oneLine(code)})` : '';
  return failure('AGENT_FAILED', `Agent '${agentId}' reported an error: ${text}${suffix}`);
}

/** `Agent 'x' failed: it broke the AG-UI event order (First event must be 'RUN_STARTED').` */
export function grammarFailure(agentId: string, detail: string): AgentRunFailure {
  return failure('AGENT_FAILED', `Agent '${agentId}' failed: it broke the AG-UI event order (${oneLine(detail)}).`);
}

export function noTerminalFailure(agentId: string): AgentRunFailure {
  return failure('AGENT_FAILED', `Agent '${agentId}' failed: its event stream ended without RUN_FINISHED or RUN_ERROR.`);
}

export function creationFailure(agentId: string, error: unknown): AgentRunFailure {
  return failure('AGENT_FAILED', `Agent '${agentId}' failed: could not create an instance (${oneLine(errorText(error))}).`);
}

/**
 * What the pipeline raised, as a failure: the agent's own faults (HTTP status, unreachable
 * server, broken connection, malformed or invalid events) or, for anything else that did not
 * come from the agent, a grammar violation found by the verifier.
 */
export function failureOf(agentId: string, error: unknown): AgentRunFailure {
  if (!(error instanceof AgentUpstreamError)) return grammarFailure(agentId, errorText(error));
  const reason = error.reason;
  const prefix = `Agent '${agentId}' failed:`;
  const status = httpStatusOf(reason);
  if (status !== undefined) {
    // HttpAgent's error carries the body; it may describe the agent server's internals: log it only.
    return failure('AGENT_FAILED', `${prefix} its server answered HTTP ${status}.`, errorText(reason));
  }
  const connection = connectionCodeOf(reason);
  if (connection) {
    return failure('AGENT_FAILED', `${prefix} its server could not be reached (${connection}).`, causeText(reason));
  }
  if (isBrokenConnection(reason)) {
    return failure('AGENT_FAILED', `${prefix} the connection to its server broke (${oneLine(causeText(reason))}).`);
  }
  if (nameOf(reason) === 'SyntaxError') {
    return failure('AGENT_FAILED', `${prefix} it sent malformed event data (${oneLine(errorText(reason))}).`);
  }
  if (nameOf(reason) === 'ZodError') {
    return failure('AGENT_FAILED', `${prefix} it sent an invalid AG-UI event (${oneLine(zodSummary(reason))}).`);
  }
  return failure('AGENT_FAILED', `${prefix} ${oneLine(errorText(reason))}`);
}

/** True for a transport fault (as opposed to bad data): after a terminal event it is harmless. */
export function isTransportFault(error: unknown): boolean {
  if (!(error instanceof AgentUpstreamError)) return false;
  return connectionCodeOf(error.reason) !== undefined || isBrokenConnection(error.reason) || nameOf(error.reason) === 'AbortError';
}

function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Node socket error codes that mean "nobody answered": the code says more than "fetch failed". */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function connectionCodeOf(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
    // AggregateError (several addresses tried): the first one tells.
    const errors = (link as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const inner = errors.map((e) => (e as { code?: unknown })?.code).find((c) => typeof c === 'string' && CONNECTION_CODES.has(c));
      if (typeof inner === 'string') return inner;
    }
  }
  return undefined;
}

/** undici's "terminated" (the server hung up mid-answer) and socket resets. */
function isBrokenConnection(error: unknown): boolean {
  return causeChain(error).some((link) => {
    const { message, code } = link as { message?: unknown; code?: unknown };
    return (nameOf(link) === 'TypeError' && message === 'terminated') || code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
  });
}

function causeChain(error: unknown): object[] {
  const chain: object[] = [];
  let current = error;
  while (typeof current === 'object' && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function causeText(error: unknown): string {
  return causeChain(error)
    .map((link) => errorText(link))
    .filter((text) => text !== '')
    .join(': ');
}

function zodSummary(error: unknown): string {
  const issues = (error as { issues?: Array<{ path?: unknown[]; message?: string }> }).issues;
  const first = Array.isArray(issues) ? issues[0] : undefined;
  if (!first) return errorText(error);
  const path = Array.isArray(first.path) && first.path.length ? `${first.path.join('.')}: ` : '';
  return `${path}${first.message ?? 'invalid'}`;
}

// Duck-typed: errors raised inside node_modules may come from another realm under Jest.
function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_DETAIL_LENGTH ? `${flat.slice(0, MAX_DETAIL_LENGTH)}...` : flat;
}
