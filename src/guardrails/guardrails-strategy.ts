import type { CloudSettings } from '../runtime/run-policy.js';

/** What a strategy judges: the user's last message, with the conversation before it. */
export interface GuardrailsRequest {
  /** The text of the user's last message. */
  input: string;
  /** The earlier user and assistant texts, oldest first. */
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  /** The request's Copilot Cloud settings, if any (the client's topic lists). */
  cloud: CloudSettings | null;
  /** Lower-cased inbound headers (the Copilot Cloud key). */
  headers: Readonly<Record<string, string | undefined>>;
  /** Fires at the guardrails timeout or when the client goes away. */
  signal: AbortSignal;
}

export type GuardrailsVerdict = { status: 'allowed'; reason?: string } | { status: 'denied'; reason: string };

/**
 * One way of judging a message (Vendure-style strategy): chosen by configuration, called by the
 * guardrails policy stage before any model or agent is called.
 */
export interface GuardrailsStrategy {
  readonly name: string;
  /** Checks the request before any message is looked at (e.g. a required header); throws a CopilotRuntimeError to refuse. */
  admit?(request: Omit<GuardrailsRequest, 'input' | 'messages' | 'signal'>): void;
  /** The verdict, or null when this request has nothing to check (e.g. no topic lists). Throws when it cannot judge. */
  check(request: GuardrailsRequest): Promise<GuardrailsVerdict | null>;
}

/** What a strategy throws when it cannot judge: the service or model failed, or answered garbage. */
export class GuardrailsUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GuardrailsUnavailable';
  }
}

/** Upstream's text on the denied message (v1 FailedMessageStatus.reason; v2 the assistant message). */
export function deniedMessage(reason: string): string {
  return `Interrupted due to Guardrails validation failure. Reason: ${reason}`;
}

/** A verdict read from JSON (a service answer, a model's answer): anything else is garbage. */
export function parseVerdict(value: unknown): GuardrailsVerdict | null {
  if (typeof value !== 'object' || value === null) return null;
  const { status, reason } = value as { status?: unknown; reason?: unknown };
  if (reason !== undefined && reason !== null && typeof reason !== 'string') return null;
  if (status === 'allowed') return typeof reason === 'string' ? { status, reason } : { status };
  if (status === 'denied') return { status, reason: typeof reason === 'string' && reason.trim() !== '' ? reason : 'The message is not allowed.' };
  return null;
}
