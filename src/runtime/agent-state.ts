import { EventType, type BaseEvent } from '@ag-ui/core';
import fastJsonPatch from 'fast-json-patch';

/** What a state event does to an agent's state: the new state, or why a delta does not apply. */
export type StateChange = { state: unknown } | { error: Error };

/**
 * An agent's state after one of its events: STATE_SNAPSHOT replaces it, STATE_DELTA (JSON Patch)
 * changes it without touching the previous value. Null for every other event. The one rule both
 * the recorder (what is stored) and the v1 projection (what the client sees) follow.
 */
export function applyStateEvent(state: unknown, event: BaseEvent): StateChange | null {
  const change = event as BaseEvent & { snapshot?: unknown; delta?: unknown };
  if (event.type === EventType.STATE_SNAPSHOT) return { state: change.snapshot };
  if (event.type !== EventType.STATE_DELTA || !Array.isArray(change.delta)) return null;
  try {
    return { state: fastJsonPatch.applyPatch(state, change.delta as fastJsonPatch.Operation[], false, false).newDocument };
  } catch (error) {
    return { error: error as Error };
  }
}
