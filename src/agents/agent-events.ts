import { transformChunks, verifyEvents, type AbstractAgent, type Middleware } from '@ag-ui/client';
import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import { Observable } from 'rxjs';
import { AgentUpstreamError } from './agent-run-failures.js';

/**
 * One run of an agent instance as a checked event stream: the pipeline AbstractAgent.runAgent
 * uses (the agent's middlewares, chunk events expanded, @ag-ui/client's `verifyEvents` grammar
 * check) without runAgent's bookkeeping of messages and state, which the runtime does itself.
 *
 * Errors the agent raised arrive wrapped in AgentUpstreamError; any other error is the verifier's
 * (or the chunk expander's) complaint about the event order. `onCompleted` is called when the
 * agent's own stream completes: its work is over. After an error it may not be (HttpAgent keeps
 * reading the response after a malformed event), so the caller still has to stop it.
 */
export function agentEvents(instance: AbstractAgent, input: RunAgentInput, onCompleted: () => void): Observable<BaseEvent> {
  const upstream = new Observable<BaseEvent>((subscriber) => {
    try {
      // run() may start its work (HttpAgent: the fetch) as soon as it is called, hence inside subscribe.
      const subscription = withMiddlewares(instance)
        .run(input)
        .subscribe({
          next: (event) => subscriber.next(event),
          error: (error: unknown) => subscriber.error(new AgentUpstreamError(error)),
          complete: () => {
            onCompleted();
            subscriber.complete();
          },
        });
      return () => subscription.unsubscribe();
    } catch (error) {
      subscriber.error(new AgentUpstreamError(error));
      return undefined;
    }
  });
  return upstream.pipe(transformChunks(), verifyEvents());
}

type Runnable = Pick<AbstractAgent, 'run' | 'messages' | 'state'>;

/**
 * The agent behind its middlewares (`agent.use(...)`), chained as runAgent chains them. The list
 * is private to AbstractAgent; an agent without one is run directly.
 */
function withMiddlewares(instance: AbstractAgent): Runnable {
  const middlewares = (instance as unknown as { middlewares?: unknown }).middlewares;
  if (!Array.isArray(middlewares) || middlewares.length === 0) return instance;
  return (middlewares as Middleware[]).reduceRight<Runnable>(
    (next, middleware) => ({
      run: (input: RunAgentInput) => middleware.run(input, next as AbstractAgent),
      get messages() {
        return next.messages;
      },
      get state() {
        return next.state;
      },
    }),
    instance,
  );
}
