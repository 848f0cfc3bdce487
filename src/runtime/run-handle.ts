import type { LoggedEvent } from '../runs/logged-event.js';

/**
 * A started run: its ids now, its AG-UI events (with their thread sequence numbers) as they
 * happen. Iterate `events` exactly once.
 */
export interface RunHandle {
  threadId: string;
  runId: string;
  events: AsyncIterable<LoggedEvent>;
}
