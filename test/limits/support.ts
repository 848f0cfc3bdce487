export { bearer, COPILOT_EVENTS, postGenerate, subscribe, wsClient } from '../support/durable-api.js';
import { multipartPayloads } from '../support/copilot-client.js';

/** The GraphQL errors of a v1 answer (multipart or JSON). */
export function multipartErrors(text: string): Array<{ message: string; extensions: Record<string, any> }> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed).errors ?? [];
  return multipartPayloads(text).flatMap((payload) => payload.errors ?? []);
}
