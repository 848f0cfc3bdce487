import { EventLogStore } from '../../ports/run-stores.js';
import type { LoggedEvent } from '../logged-event.js';
import type { MemoryRunState } from './memory-run-state.js';

/** The event log in memory, within the state's bounds (older runs may have been evicted). */
export class MemoryEventLogStore extends EventLogStore {
  constructor(private readonly state: MemoryRunState) {
    super();
  }

  async append(events: LoggedEvent[]): Promise<void> {
    this.state.append(events);
  }

  async readAfter(threadId: string, afterSequence: number, limit: number): Promise<LoggedEvent[]> {
    const thread = this.state.threads.get(threadId);
    if (!thread) return [];
    // A thread someone reads is in use: it moves to the most recently used end.
    this.state.touch(threadId, thread.ownerId);
    const events: LoggedEvent[] = [];
    for (const run of thread.runs) {
      for (const event of run.events) {
        if (event.sequence <= afterSequence) continue;
        events.push(event);
        if (events.length >= limit) return events;
      }
    }
    return events;
  }

  async lastSequence(threadId: string): Promise<number> {
    return this.state.threads.get(threadId)?.lastSequence ?? 0;
  }
}
