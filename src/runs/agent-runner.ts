import type { BaseEvent, Message } from '@ag-ui/core';
import type { RequestContext } from '../common/request-context.js';
import type { RunInput, TokenUsage } from '../ports/conversation-store.js';
import type { StoredAgentState } from '../ports/run-stores.js';
import type { LoggedEvent } from './logged-event.js';
import type { RunResult } from './run-execution.js';

/** What happens when a run is asked for on a thread that already has an active run. */
export type BusyThreadPolicy = 'fail' | 'queue' | 'supersede';

export interface RunStartRequest {
  ctx: RequestContext;
  threadId: string;
  runId: string;
  agentName: string | null;
  model: string | null;
  inputMessages: Message[];
  /** The request's tools and context items, recorded with the run so that a replay shows them. */
  runInput?: RunInput;
  /**
   * The agent whose last stored state on the thread the run starts from: read under the thread's
   * lock (so a run queued behind another starts from the state that one left), handed to `body`.
   */
  initialStateOf?: string;
  /**
   * The run itself: its AG-UI events, honouring `signal` (fired by stop, by a caller that goes
   * away when `onCallerGone` is 'abort', or by a lost lock).
   */
  body: (signal: AbortSignal, admitted: AdmittedRun) => AsyncIterable<BaseEvent>;
  /** 'abort' (v1 HTTP default): the caller's signal stops the run. 'continue': it runs on. */
  onCallerGone: 'abort' | 'continue';
  /** Read once the body has ended: the run's token usage, recorded with its final status. */
  usage?: () => TokenUsage | null;
  /**
   * Called once the run has ended and is recorded (its lock released), however it ended. Must not
   * throw; it is not awaited.
   */
  onFinished?: (result: RunResult) => void;
}

/** What the admission learned for the run's body. */
export interface AdmittedRun {
  /**
   * The last stored state of `initialStateOf` (null: none); absent when the runner did not read
   * it (not asked, or a store that reads it only on request: the body reads it then).
   */
  storedState?: StoredAgentState | null;
}

/** A started run: the caller's view of its events, live, with their thread sequence numbers. */
export interface RunSession {
  threadId: string;
  runId: string;
  events: AsyncIterable<LoggedEvent>;
}

export type StopOutcome =
  | { stopped: true; threadId: string; runId: string }
  | { stopped: false; reason: 'not_running' | 'not_found'; message: string };

/**
 * Upstream's runner contract, durable. `run` takes the thread's lock (per the busy-thread policy)
 * before returning, so a second concurrent run is refused before anything streams.
 */
export interface AgentRunner {
  run(request: RunStartRequest): Promise<RunSession>;
  /** Replays the thread's events after `afterSequence` from the log, then follows the live run. */
  connect(threadId: string, afterSequence: number, signal: AbortSignal): AsyncIterable<LoggedEvent>;
  isRunning(threadId: string): Promise<boolean>;
  stop(target: { threadId?: string; runId?: string }): Promise<StopOutcome>;
}

export const AGENT_RUNNER = Symbol('AGENT_RUNNER');
