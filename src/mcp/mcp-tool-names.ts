import { createHash } from 'node:crypto';

/** What every model provider accepts as a function name. */
export const MAX_TOOL_NAME_LENGTH = 64;
const SEPARATOR = '__';
const HASH_LENGTH = 8;

/**
 * The name a server's tool is offered under: `<server>__<tool>`. When that is not already a valid
 * name (characters outside `[a-zA-Z0-9_-]`, or over 64 characters), the invalid characters become
 * `_`, the name is cut to fit, and a short hash of the server id and the original tool name is
 * appended: the name stays stable across listings and restarts, and two tools whose cleaned names
 * would coincide (`a.b` and `a_b`) still get distinct names.
 */
export function namespacedToolName(serverId: string, toolName: string): string {
  const plain = `${serverId}${SEPARATOR}${toolName}`;
  if (/^[a-zA-Z0-9_-]+$/.test(plain) && plain.length <= MAX_TOOL_NAME_LENGTH) return plain;
  const hash = createHash('sha256').update(`${serverId}\u0000${toolName}`).digest('hex').slice(0, HASH_LENGTH);
  const cleaned = plain.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `${cleaned.slice(0, MAX_TOOL_NAME_LENGTH - HASH_LENGTH - 1)}_${hash}`;
}

/** Whether `name` matches a filter pattern (`*` for any run of characters, the rest verbatim). */
export function matchesNamePattern(name: string, pattern: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}

/** Whether a tool passes a server's allow/deny lists (deny wins; no allow list allows all). */
export function toolAllowed(name: string, filter: { allow?: string[]; deny?: string[] } | undefined): boolean {
  if (filter?.deny?.some((pattern) => matchesNamePattern(name, pattern))) return false;
  if (filter?.allow && !filter.allow.some((pattern) => matchesNamePattern(name, pattern))) return false;
  return true;
}
