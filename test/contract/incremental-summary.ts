import type { MultipartPart } from './multipart.js';

/**
 * What a v1 incremental response means to a client, independent of chunking, ids, timestamps and
 * the interleaving the protocol leaves free. Two responses with equal summaries give the client
 * the same result through the same kinds of patches.
 */
export interface IncrementalSummary {
  /** The first part, `runId` removed (see `runId`). */
  initial: unknown;
  runId: unknown;
  messages: MessageSummary[];
  /** `data` entries at the response path (the deferred response status), in order. */
  responseData: unknown[];
  /** Items streamed into `metaEvents` (interrupts), with the deferred statuses of their messages. */
  metaEvents: MetaEventSummary[];
  /** The last part. */
  final: unknown;
  /** Violations of the incremental format (must be empty). */
  problems: string[];
}

export interface MessageSummary {
  /** The streamed item, ids replaced by stable placeholders and timestamps by `<iso>`. */
  item: Record<string, unknown>;
  /** The item's keys in wire order. */
  keys: string[];
  /** Items streamed into the message's lists (`content`, `arguments`), joined. */
  streamed: Record<string, string>;
  /** `data` entries at the message path (the deferred message status), in order. */
  data: unknown[];
}

export interface MetaEventSummary {
  /** The streamed item, timestamps replaced by `<iso>` (ids are the agent's: kept). */
  item: unknown;
  /** `data` entries under the item (`data.messages[j]` statuses), as `[j, data]`, in order. */
  messageData: Array<[number, unknown]>;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const ID_FIELDS = new Set(['id', 'parentMessageId', 'actionExecutionId']);

export function summarize(parts: MultipartPart[], root = 'generateCopilotResponse'): IncrementalSummary {
  const problems: string[] = [];
  const ids = new Map<string, string>();
  const normalizeId = (value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    if (value.startsWith('result-') && ids.has(value.slice('result-'.length))) {
      return `result-${ids.get(value.slice('result-'.length))}`;
    }
    if (!ids.has(value)) ids.set(value, `<id${ids.size + 1}>`);
    return ids.get(value);
  };

  const [first, ...rest] = parts.map((part) => part.body);
  const last = rest.at(-1);
  const { runId, ...initialResponse } = first?.data?.[root] ?? {};
  const initial = { ...first, data: { ...first?.data, [root]: initialResponse } };
  if (first?.hasNext !== true) problems.push('the first part does not have hasNext:true');

  const messages: MessageSummary[] = [];
  const streamedItems: Array<Record<string, string[]>> = [];
  const responseData: unknown[] = [];
  const metaEvents: MetaEventSummary[] = [];

  rest.forEach((part, index) => {
    const isLast = index === rest.length - 1;
    if (part.hasNext !== !isLast) problems.push(`part ${index + 1} has hasNext:${part.hasNext}`);
    for (const entry of part.incremental ?? []) {
      const path: Array<string | number> = entry.path ?? [];
      if (path[0] !== root) {
        problems.push(`entry outside ${root}: ${JSON.stringify(path)}`);
        continue;
      }
      if ('items' in entry) {
        if (path.length === 3 && path[1] === 'messages') {
          entry.items.forEach((item: Record<string, unknown>, offset: number) => {
            const at = (path[2] as number) + offset;
            if (at !== messages.length) problems.push(`message item at index ${at}, expected ${messages.length}`);
            const normalized = Object.fromEntries(
              Object.entries(item).map(([key, value]) => {
                if (ID_FIELDS.has(key)) return [key, normalizeId(value)];
                if (key === 'createdAt') return [key, typeof value === 'string' && ISO.test(value) ? '<iso>' : value];
                return [key, value];
              }),
            );
            messages.push({ item: normalized, keys: Object.keys(item), streamed: {}, data: [] });
            streamedItems.push({});
          });
        } else if (path.length === 3 && path[1] === 'metaEvents') {
          entry.items.forEach((item: unknown, offset: number) => {
            const at = (path[2] as number) + offset;
            if (at !== metaEvents.length) problems.push(`metaEvent item at index ${at}, expected ${metaEvents.length}`);
            metaEvents.push({ item: withIsoPlaceholders(item), messageData: [] });
          });
        } else if (path.length === 5 && path[1] === 'messages') {
          const [, , at, field, position] = path as [string, string, number, string, number];
          const lists = streamedItems[at];
          if (!lists) {
            problems.push(`items into ${JSON.stringify(path)} before message ${at} arrived`);
            continue;
          }
          const list = (lists[field] ??= []);
          if (position !== list.length) problems.push(`items at ${JSON.stringify(path)}, expected index ${list.length}`);
          list.push(...entry.items);
        } else {
          problems.push(`items at unexpected path ${JSON.stringify(path)}`);
        }
      } else if ('data' in entry) {
        if (path.length === 1) {
          responseData.push(entry.data);
        } else if (path.length === 3 && path[1] === 'messages' && messages[path[2] as number]) {
          messages[path[2] as number].data.push(entry.data);
        } else if (path.length === 6 && path[1] === 'metaEvents' && path[3] === 'data' && path[4] === 'messages' && metaEvents[path[2] as number]) {
          metaEvents[path[2] as number].messageData.push([path[5] as number, entry.data]);
        } else {
          problems.push(`data at unexpected path ${JSON.stringify(path)}`);
        }
      } else {
        problems.push(`unknown entry ${JSON.stringify(entry)}`);
      }
    }
  });
  messages.forEach((message, at) => {
    message.streamed = Object.fromEntries(Object.entries(streamedItems[at]).map(([field, items]) => [field, items.join('')]));
  });

  return { initial, runId, messages, responseData, metaEvents, final: last, problems };
}

function withIsoPlaceholders(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withIsoPlaceholders);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [
        key,
        key === 'createdAt' && typeof inner === 'string' && ISO.test(inner) ? '<iso>' : withIsoPlaceholders(inner),
      ]),
    );
  }
  return value;
}
