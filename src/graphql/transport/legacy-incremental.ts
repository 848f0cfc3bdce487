/** A subsequent payload of the legacy incremental format (deferSpec=20220824) that urql reads. */
export interface LegacySubsequentPayload {
  incremental?: readonly unknown[];
  hasNext: boolean;
  extensions?: Record<string, unknown>;
}

/** An `incremental` entry of streamed items: `path` ends with the list index of the first one. */
interface StreamedItems {
  items: unknown[];
  path: ReadonlyArray<string | number>;
  label?: string;
  errors?: unknown;
}

/**
 * Several subsequent payloads as one: their `incremental` entries in order, the last one's
 * `hasNext`. Heartbeat-only payloads (`{hasNext:true}`) vanish into the others. Consecutive
 * entries that continue the same streamed list become one entry with several `items` (the
 * legacy format's `items` is a list; urql and Apollo Client put each item at its own index), so
 * several deltas stay several list items while the path and keys are written once per run of
 * items instead of once per item. Entries with errors are never folded.
 */
export function mergeSubsequentPayloads<T extends LegacySubsequentPayload>(payloads: T[]): T {
  const incremental: unknown[] = [];
  let extensions: Record<string, unknown> | undefined;
  // The last entry of `incremental`, when this merge made it (so its items may be appended to).
  let owned: StreamedItems | null = null;
  for (const payload of payloads) {
    if (payload.incremental) for (const entry of payload.incremental) owned = appendEntry(incremental, entry, owned);
    if (payload.extensions) extensions = { ...extensions, ...payload.extensions };
  }
  const merged: LegacySubsequentPayload = incremental.length
    ? { incremental, hasNext: payloads[payloads.length - 1].hasNext }
    : { hasNext: payloads[payloads.length - 1].hasNext };
  if (extensions) merged.extensions = extensions;
  return merged as T;
}

/** Appends `entry`, folded into the last entry when it continues it; returns the entry now owned. */
function appendEntry(entries: unknown[], entry: unknown, owned: StreamedItems | null): StreamedItems | null {
  const last = entries[entries.length - 1];
  if (!isFoldable(last) || !isFoldable(entry) || !continues(last, entry)) {
    entries.push(entry);
    return null;
  }
  // The executor's entry is copied before it grows: payloads are not changed under their producer.
  const target = last === owned ? owned : (entries[entries.length - 1] = { ...last, items: [...last.items] });
  for (const item of entry.items) target.items.push(item);
  return target;
}

function isFoldable(entry: unknown): entry is StreamedItems {
  const candidate = entry as StreamedItems | undefined;
  return candidate !== undefined && Array.isArray(candidate.items) && Array.isArray(candidate.path) && candidate.errors === undefined;
}

/** `next`'s items come right after `previous`'s, in the same list (same parent path and label). */
function continues(previous: StreamedItems, next: StreamedItems): boolean {
  const length = previous.path.length;
  if (next.path.length !== length || next.label !== previous.label || length === 0) return false;
  for (let index = 0; index < length - 1; index++) if (previous.path[index] !== next.path[index]) return false;
  const start = previous.path[length - 1];
  return typeof start === 'number' && next.path[length - 1] === start + previous.items.length;
}
