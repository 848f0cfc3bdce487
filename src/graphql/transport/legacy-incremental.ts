/** A subsequent payload of the legacy incremental format (deferSpec=20220824) that urql reads. */
export interface LegacySubsequentPayload {
  incremental?: readonly unknown[];
  hasNext: boolean;
  extensions?: Record<string, unknown>;
}

/**
 * Several subsequent payloads as one: their `incremental` entries in order (each stays its own
 * entry, so several streamed items stay several items), the last one's `hasNext`. Heartbeat-only
 * payloads (`{hasNext:true}`) vanish into the others.
 */
export function mergeSubsequentPayloads<T extends LegacySubsequentPayload>(payloads: T[]): T {
  const incremental: unknown[] = [];
  let extensions: Record<string, unknown> | undefined;
  for (const payload of payloads) {
    if (payload.incremental) for (const entry of payload.incremental) incremental.push(entry);
    if (payload.extensions) extensions = { ...extensions, ...payload.extensions };
  }
  const merged: LegacySubsequentPayload = incremental.length
    ? { incremental, hasNext: payloads[payloads.length - 1].hasNext }
    : { hasNext: payloads[payloads.length - 1].hasNext };
  if (extensions) merged.extensions = extensions;
  return merged as T;
}
