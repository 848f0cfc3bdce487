import { RunAgentInputSchema, type RunAgentInput } from '@ag-ui/core';
import type { IncomingMessage } from 'node:http';
import type { CloudSettings } from '../runtime/run-policy.js';
import { FORWARDED_MODEL_SETTINGS } from '../agents/built-in/model-call-settings.js';
import { invalidRequestBody, type JsonAnswer } from './http-answers.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; answer: JsonAnswer };

/**
 * A run or connect body: AG-UI's own zod schema, so what we accept is exactly what the protocol
 * defines. `details` is zod's issue list as text, byte for byte what upstream answers.
 */
export function parseRunAgentInput(body: unknown): Parsed<RunAgentInput> {
  const result = RunAgentInputSchema.safeParse(body);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, answer: invalidRequestBody(result.error.message) };
}

/** A syntax error in the JSON text is reported as upstream does: the parser's message as details. */
export function invalidJson(message: string): JsonAnswer {
  return invalidRequestBody(message);
}

/**
 * Stop's optional body `{runId}` (upstream's handler: `{"error":"Invalid stop request"}` for
 * anything but an object with at most `runId`, `{"error":"Invalid runId"}` for an empty one).
 * `undefined` body: none was sent (the single-route envelope without `body`).
 */
export function parseStopBody(body: unknown): Parsed<{ runId?: string }> {
  if (body === undefined) return { ok: true, value: {} };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalidStop('Invalid stop request');
  const keys = Object.keys(body);
  if (keys.some((key) => key !== 'runId')) return invalidStop('Invalid stop request');
  const { runId } = body as { runId?: unknown };
  if (runId === undefined) return { ok: true, value: {} };
  if (typeof runId !== 'string' || runId.trim() === '') return invalidStop('Invalid runId');
  return { ok: true, value: { runId } };
}

function invalidStop(error: string): Parsed<never> {
  return { ok: false, answer: { status: 400, body: { error } } };
}

/**
 * v2 has no separate `properties`: the frontend's `properties` arrive as `forwardedProps`. Minus
 * the keys that tune the default agent's model call, they are the request properties server
 * actions receive (as v1 `properties` are).
 */
export function requestProperties(forwardedProps: unknown): Record<string, unknown> {
  if (typeof forwardedProps !== 'object' || forwardedProps === null || Array.isArray(forwardedProps)) return {};
  const properties: Record<string, unknown> = { ...(forwardedProps as Record<string, unknown>) };
  for (const key of FORWARDED_MODEL_SETTINGS) delete properties[key];
  return properties;
}

/**
 * v1's `data.cloud` on v2: `forwardedProps.cloud` (`{guardrails: {inputValidationRules: {allowList,
 * denyList}}}`), what the guardrails read. It stays in the properties too, as everything else there.
 */
export function cloudSettings(forwardedProps: unknown): CloudSettings | null {
  const cloud = (forwardedProps as { cloud?: unknown } | null | undefined)?.cloud;
  return typeof cloud === 'object' && cloud !== null && !Array.isArray(cloud) ? (cloud as CloudSettings) : null;
}

/** The URL the request was made to, as the client named it (for middleware: upstream's `url`/`path`). */
export function requestUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
}
