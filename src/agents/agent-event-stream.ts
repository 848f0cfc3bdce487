import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import type { RegisteredAgent } from './agent-registry.js';

/**
 * One run of a registered agent as AG-UI events, on a fresh instance. Contract:
 * - yields the agent's events in order (RUN_STARTED first);
 * - ends with exactly one terminal event: RUN_FINISHED, or RUN_ERROR whose message names the
 *   agent and whose `code` says why (never throws);
 * - when `signal` aborts, unsubscribes from the agent (aborting its HTTP call) and ends quietly.
 * SKELETON: no grammar checks, no timeouts yet.
 */
export async function* streamAgentRun(
  agent: RegisteredAgent,
  input: RunAgentInput,
  signal: AbortSignal,
): AsyncGenerator<BaseEvent> {
  const { pushable } = await import('it-pushable');
  const queue = pushable<BaseEvent>({ objectMode: true });
  const subscription = agent.create().run(input).subscribe({
    next: (event) => queue.push(event),
    error: (error: unknown) => {
      queue.push({ type: 'RUN_ERROR', message: `Agent '${agent.id}' failed: ${(error as Error).message}`, code: 'AGENT_ERROR' } as BaseEvent);
      queue.end();
    },
    complete: () => queue.end(),
  });
  const onAbort = () => {
    subscription.unsubscribe();
    queue.end();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    yield* queue;
  } finally {
    signal.removeEventListener('abort', onAbort);
    subscription.unsubscribe();
  }
}
