import type { BaseEvent } from '@ag-ui/core';
import { Injectable, Logger } from '@nestjs/common';
import { AgentStateStore } from '../ports/run-stores.js';
import { applyStateEvent } from './agent-state.js';

/**
 * Keeps an agent's state per (thread, agent) as a run reports it: STATE_SNAPSHOT replaces it,
 * STATE_DELTA (JSON Patch) changes it, and every change is stored as a new version. Storing is
 * queued per thread and agent, in order, off the stream: the events pass through untouched.
 */
@Injectable()
export class AgentStateRecorder {
  private readonly logger = new Logger(AgentStateRecorder.name);
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly store: AgentStateStore) {}

  /** Passes `events` through, recording the state changes among them. */
  async *track(
    events: AsyncIterable<BaseEvent>,
    target: { threadId: string; agentName: string; runId: string; initialState?: unknown },
  ): AsyncGenerator<BaseEvent> {
    let state: unknown = target.initialState ?? {};
    for await (const event of events) {
      const change = applyStateEvent(state, event);
      if (change && 'state' in change) {
        state = change.state;
        this.record(target, state);
      } else if (change) {
        this.logger.warn(
          `Run ${target.runId}: a state delta of agent "${target.agentName}" does not apply and was not stored: ${change.error.message}`,
          { threadId: target.threadId, runId: target.runId },
        );
      }
      yield event;
    }
  }

  /** Resolves when every state change queued so far is stored (tests, shutdown). */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  private record(target: { threadId: string; agentName: string; runId: string }, state: unknown): void {
    const key = `${target.threadId}\u0000${target.agentName}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => this.store.record(target.threadId, target.agentName, state, target.runId))
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger.error(`Run ${target.runId}: storing the state of agent "${target.agentName}" failed: ${(error as Error).message}`, { threadId: target.threadId, runId: target.runId }),
      );
    this.queues.set(key, next);
    void next.then(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }
}
