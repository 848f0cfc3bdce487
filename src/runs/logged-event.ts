import type { BaseEvent } from '@ag-ui/core';

/**
 * One event of a thread's event log. `sequence` is per thread, starts at 1 and has no gaps: it is
 * what a subscriber quotes to resume ("everything after 41").
 */
export interface LoggedEvent {
  threadId: string;
  runId: string;
  sequence: number;
  event: BaseEvent;
}
