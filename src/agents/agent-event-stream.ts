import type { AbstractAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { pushable, type Pushable } from 'it-pushable';
import type { Unsubscribable } from 'rxjs';
import { agentEvents } from './agent-events.js';
import {
  AgentUpstreamError,
  creationFailure,
  errorText,
  failureOf,
  grammarFailure,
  isTransportFault,
  noTerminalFailure,
  reportedFailure,
  timeoutFailure,
  type AgentRunFailure,
} from './agent-run-failures.js';
import type { AgentRunScope } from './agent-definition.js';
import type { AgUiRegisteredAgent } from './agent-registry.js';
import { prepareHttpAgentRun } from './http-agent-run.js';
import { RunWatchdog } from './run-watchdog.js';
import type { LogContext } from '../common/request-context.js';

export interface AgentRunOptions {
  /**
   * Inbound headers the forwarding policy lets through. Given to an HttpAgent's request under its
   * own configured headers (a header the agent was configured with wins).
   */
  forwardedHeaders?: Record<string, string>;
  /** Who the run is for, handed to the instance with the runtime's services (LangGraph's `mcpTools`). */
  run?: AgentRunScope;
  /** The run's log fields, for the lines about this run. */
  log?: LogContext;
}

/**
 * How long a terminal event is held back waiting for the agent's stream to end. Only an agent
 * that keeps its stream open after RUN_FINISHED pays it; within it, anything more it sends turns
 * the run into a failure (events after the terminal one break the protocol).
 */
const TERMINAL_GRACE_MS = 250;

const logger = new Logger('AgentRun');

/**
 * One run of a registered agent as AG-UI events, on a fresh instance. Contract:
 * - yields the agent's events in order (its RUN_STARTED first);
 * - ends with exactly one terminal event: RUN_FINISHED, or RUN_ERROR whose message names the
 *   agent and whose `code` is AGENT_FAILED or AGENT_TIMEOUT (never throws). Failures: the agent's
 *   own RUN_ERROR, an unreachable server, an HTTP error, malformed or invalid events, events out of
 *   order (content before RUN_STARTED, unknown ids, anything after the terminal event), a stream
 *   that ends without a terminal event, and each of the agent's three time limits;
 * - when `signal` aborts, stops the agent (unsubscribes and aborts its HTTP call) and ends
 *   quietly, without a terminal event: the runner records the run as stopped.
 * Whatever the ending, the agent's work is stopped when this generator ends.
 */
export async function* streamAgentRun(
  agent: AgUiRegisteredAgent,
  input: RunAgentInput,
  signal: AbortSignal,
  options: AgentRunOptions = {},
): AsyncGenerator<BaseEvent> {
  if (signal.aborted) return;
  const run = new AgentRun(agent, input, signal, options);
  try {
    run.start();
    yield* run.events;
  } finally {
    // The consumer may stop reading early (return()): the agent must not run on unobserved.
    run.close();
  }
}

/** The state of one run: at most one terminal event, then everything is released. */
class AgentRun {
  readonly events: Pushable<BaseEvent> = pushable<BaseEvent>({ objectMode: true });
  private phase: 'running' | 'closing' | 'done' = 'running';
  private instance?: AbstractAgent;
  private subscription?: Unsubscribable;
  /** The agent's own stream has not completed: its work (an HTTP request) may be in flight. */
  private agentBusy = false;
  /** The terminal event, held during the grace period. */
  private terminal?: BaseEvent;
  private grace?: NodeJS.Timeout;
  private readonly watchdog: RunWatchdog;
  private readonly onAbort = () => this.finish();

  constructor(
    private readonly agent: AgUiRegisteredAgent,
    private readonly input: RunAgentInput,
    private readonly signal: AbortSignal,
    private readonly options: AgentRunOptions,
  ) {
    this.watchdog = new RunWatchdog(agent.limits, (limit, ms) => this.fail(timeoutFailure(agent.id, limit, ms)));
  }

  start(): void {
    this.signal.addEventListener('abort', this.onAbort, { once: true });
    try {
      this.instance = this.agent.create(this.options.run);
      prepareHttpAgentRun(this.instance, {
        forwardedHeaders: this.options.forwardedHeaders,
        onBodyError: (error) => this.onError(new AgentUpstreamError(error)),
      });
    } catch (error) {
      this.fail(creationFailure(this.agent.id, error), error);
      return;
    }
    this.watchdog.start();
    this.agentBusy = true;
    const subscription = agentEvents(this.instance, this.input, () => (this.agentBusy = false)).subscribe({
      next: (event) => this.onEvent(event),
      error: (error: unknown) => this.onError(error),
      complete: () => this.onComplete(),
    });
    // The agent may have emitted and ended synchronously, before `subscribe` returned.
    if (this.phase === 'done') subscription.unsubscribe();
    else this.subscription = subscription;
  }

  /** Ends the run quietly if nothing ended it yet (abort, or the consumer stopped reading). */
  close(): void {
    this.finish();
  }

  private onEvent(event: BaseEvent): void {
    if (this.phase === 'done') return;
    if (this.phase === 'closing') {
      // The agent's RUN_ERROR already failed the run: what it adds after it changes nothing.
      if (this.terminal?.type === EventType.RUN_ERROR) this.finish(this.terminal);
      else this.fail(grammarFailure(this.agent.id, `sent ${event.type} after ${this.terminal?.type}`));
      return;
    }
    this.watchdog.event();
    if (event.type === EventType.RUN_FINISHED || event.type === EventType.RUN_ERROR) {
      this.phase = 'closing';
      this.watchdog.stop();
      this.terminal = event.type === EventType.RUN_ERROR ? reportedFailure(this.agent.id, event).event : event;
      if (!this.agentBusy) this.finish(this.terminal);
      else this.grace = setTimeout(() => this.finish(this.terminal), TERMINAL_GRACE_MS);
      return;
    }
    this.events.push(event);
  }

  private onError(error: unknown): void {
    if (this.phase === 'done') return;
    if (this.phase === 'closing') {
      // A connection dropped after the terminal event loses nothing; bad data after it is a fault.
      if (this.terminal?.type === EventType.RUN_ERROR || isTransportFault(error)) this.finish(this.terminal);
      else this.fail(failureOf(this.agent.id, error), error);
      return;
    }
    this.fail(failureOf(this.agent.id, error), error);
  }

  private onComplete(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'closing') this.finish(this.terminal);
    else this.fail(noTerminalFailure(this.agent.id));
  }

  private fail(failure: AgentRunFailure, cause?: unknown): void {
    if (this.phase === 'done') return;
    const raw = failure.detail ?? (cause === undefined ? undefined : errorText(cause));
    // The log gets what the message leaves out (e.g. the agent server's error body), on one line.
    const detail = raw?.replace(/\s+/g, ' ').trim();
    const extra = detail && !failure.event.message.includes(detail) ? ` [${detail}]` : '';
    logger.warn(`Run ${this.input.runId}: ${failure.event.message}${extra}`, this.logContext());
    this.finish(failure.event);
  }

  private logContext(): LogContext {
    return this.options.log ?? { threadId: this.input.threadId, runId: this.input.runId };
  }

  /** Ends the stream, with `terminal` or (abort) without one, and stops the agent's work. */
  private finish(terminal?: BaseEvent): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.grace);
    this.watchdog.stop();
    this.signal.removeEventListener('abort', this.onAbort);
    if (terminal) this.events.push(terminal);
    this.events.end();
    this.subscription?.unsubscribe();
    if (this.agentBusy) this.abortAgent();
  }

  /**
   * Unsubscribing is not enough for an HttpAgent: its run() reads the response through a subject
   * that keeps reading unless the request's AbortController is aborted, which abortRun() does.
   * The instance is this run's own, so aborting it touches no other run.
   */
  private abortAgent(): void {
    this.agentBusy = false;
    try {
      this.instance?.abortRun();
    } catch (error) {
      logger.warn(`Run ${this.input.runId}: stopping agent '${this.agent.id}' failed: ${errorText(error)}`, this.logContext());
    }
  }
}
