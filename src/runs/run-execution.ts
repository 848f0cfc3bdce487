import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { MessageAssembler } from '../runtime/message-assembler.js';
import type { LoggedEvent } from './logged-event.js';
import type { LogContext } from '../common/request-context.js';

/**
 * Why a run was aborted before its body finished. The first three end the run as `stopped`, the
 * others as `failed`.
 */
export type StopReason =
  | 'stop'
  | 'caller_gone'
  | 'superseded'
  | 'lock_lost'
  | 'persistence'
  | 'shutdown';

/**
 * The CUSTOM event a stopped run ends with, right before its RUN_FINISHED:
 * `{type:'CUSTOM', name:'run_stopped', value:{runId, reason, message}}`. A plain AG-UI client
 * ignores it and sees a finished run; the GraphQL layer maps it to a stopped status.
 */
export const RUN_STOPPED_EVENT = 'run_stopped';

export interface RunStoppedValue {
  runId: string;
  reason: StopReason;
  message: string;
}

export type FinalStatus = 'succeeded' | 'failed' | 'stopped';

export interface RunResult {
  status: FinalStatus;
  error: { code: string; message: string } | null;
  usage: TokenUsage | null;
  /** The messages the run produced (as the event log tells them). */
  outputMessages: Message[];
  /** Sequence of the run's last event (its terminal event). */
  lastSequence: number;
  /** Why the body was aborted, if it was (a stopped run: `stop`, `caller_gone` or `superseded`). */
  stopReason?: StopReason | null;
}

export interface RunExecutionInit {
  threadId: string;
  runId: string;
  body: (signal: AbortSignal) => AsyncIterable<BaseEvent>;
  usage?: () => TokenUsage | null;
  /**
   * Receives every batch: what the body had ready in one turn of the event loop, numbered, in
   * order, synchronously (publish + log). Never empty.
   */
  emitBatch: (events: LoggedEvent[]) => void;
  /** The run's log fields (its request, identity, thread, run), for the line of a failure. */
  log?: LogContext;
}

type Terminal = { status: FinalStatus; error: RunResult['error'] };

/**
 * Events taken into one batch at most: a body that has more ready at once (a replay, a large
 * network read) is handed on in batches of this size, so one batch stays a bounded piece of work
 * for the log writer, the bus and the projections.
 */
export const MAX_BATCH_EVENTS = 512;

/**
 * Drives a run's body (the pump): numbers its events, hands them on in batches (`emitBatch`), and makes sure the
 * run ends with exactly one terminal event whatever happens to the body:
 * - the body's own RUN_FINISHED / RUN_ERROR decides the status (events after it are dropped);
 * - aborted (stop, caller gone, superseded): open text messages and tool calls are closed, tool
 *   calls without a result get a `stopped` result (as upstream's finalizeRunEvents does), then
 *   CUSTOM `run_stopped` and RUN_FINISHED;
 * - failed (the body threw, ended without a terminal event, the lock was lost, the log could not
 *   be written, shutdown): the same closing events, then RUN_ERROR `{message, code, errorId}`.
 * An abort does not wait for a body that ignores its signal: the pump stops reading it at once.
 *
 * Batches, with no timer: the first event of a turn of the event loop is emitted at once (a lone
 * event is never held back), and every further event the body has ready before the next turn
 * (the rest of one network read) is emitted together at the end of the turn, or as soon as
 * MAX_BATCH_EVENTS are waiting. The end-of-turn flush is scheduled before anything the first
 * event makes downstream batchers schedule (the GraphQL executor's parts, the SSE writer), so
 * theirs still close on the whole read. The pump follows the body with plain promise callbacks
 * (one `then` per event, one `setImmediate` per turn) and hears an abort through a listener, not
 * a race per event.
 */
export class RunExecution {
  private static readonly logger = new Logger('RunExecution');
  private readonly controller = new AbortController();
  private abortCause: { reason: StopReason; error?: CopilotRuntimeError } | null = null;
  private nextSequence = 1;
  private terminal: Terminal | null = null;
  private readonly assembler = new MessageAssembler();
  private readonly openMessages = new Map<string, EventType>();
  private readonly openToolCalls = new Set<string>();
  private readonly unansweredToolCalls = new Map<string, string>();

  constructor(private readonly init: RunExecutionInit) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopReason(): StopReason | null {
    return this.abortCause?.reason ?? null;
  }

  /** Aborts the body; the first reason wins. `error` is the RUN_ERROR of a failing reason. */
  abort(reason: StopReason, error?: CopilotRuntimeError): void {
    if (this.abortCause) return;
    this.abortCause = { reason, error };
    this.controller.abort(error ?? new Error(`run ${reason}`));
  }

  /** Runs the body to its end, numbering events from `firstSequence`. Never rejects. */
  async execute(firstSequence: number): Promise<RunResult> {
    this.nextSequence = firstSequence;
    let bodyFailure: CopilotRuntimeError | null = null;
    let iterator: AsyncIterator<BaseEvent> | null = null;
    try {
      iterator = this.init.body(this.signal)[Symbol.asyncIterator]();
      bodyFailure = await this.pump(iterator);
    } catch (error) {
      if (!this.signal.aborted) bodyFailure = asRuntimeError(error);
    }
    if (this.signal.aborted && iterator?.return) {
      // Lets the body run its finally blocks; not awaited, it may be stuck on the aborted call.
      Promise.resolve()
        .then(() => iterator!.return!())
        .catch(() => undefined);
    }

    let usage: TokenUsage | null = null;
    try {
      usage = this.init.usage?.() ?? null;
    } catch {
      usage = null;
    }

    const terminal = this.terminal ?? this.finalize(bodyFailure);
    return {
      status: terminal.status,
      error: terminal.error,
      usage,
      outputMessages: this.assembler.result(),
      lastSequence: this.nextSequence - 1,
      stopReason: this.abortCause?.reason ?? null,
    };
  }

  /**
   * Reads the body until it ends, fails or the run is aborted, emitting what it yields in
   * batches (see the class comment). Resolves with the body's failure, if it failed unaborted;
   * never rejects. Events received before an abort are emitted; nothing read after it is.
   */
  private pump(iterator: AsyncIterator<BaseEvent>): Promise<CopilotRuntimeError | null> {
    return new Promise((resolve) => {
      let batch: BaseEvent[] = [];
      let flushScheduled = false;
      let over = false;
      const flush = (): void => {
        flushScheduled = false;
        if (batch.length === 0) return;
        const events = batch;
        batch = [];
        this.emitAll(events);
      };
      const finish = (failure: CopilotRuntimeError | null): void => {
        if (over) return;
        over = true;
        this.signal.removeEventListener('abort', onAbort);
        flush();
        resolve(failure);
      };
      const onAbort = (): void => finish(null);
      const onTurnEnd = (): void => {
        if (!over && flushScheduled) flush();
      };
      const onFailure = (error: unknown): void => {
        if (!over) finish(this.signal.aborted ? null : asRuntimeError(error));
      };
      const onStep = (step: IteratorResult<BaseEvent>): void => {
        if (over) return;
        if (step.done) return finish(null);
        if (!flushScheduled) {
          // The first event of a turn goes on at once; what follows it in the same turn, at the
          // turn's end (scheduled first, so it runs before what the first event schedules downstream).
          flushScheduled = true;
          setImmediate(onTurnEnd);
          this.emitAll([step.value]);
        } else {
          batch.push(step.value);
          if (batch.length >= MAX_BATCH_EVENTS) {
            // Full: on at once; the turn's end still flushes what follows.
            const events = batch;
            batch = [];
            this.emitAll(events);
          }
        }
        if (!over) pull();
      };
      const pull = (): void => {
        let next: Promise<IteratorResult<BaseEvent>>;
        try {
          next = iterator.next();
        } catch (error) {
          return onFailure(error);
        }
        // A next() still pending when the run is aborted settles later, if at all: ignored then.
        next.then(onStep, onFailure);
      };
      if (this.signal.aborted) return finish(null);
      this.signal.addEventListener('abort', onAbort, { once: true });
      pull();
    });
  }

  /** Appends the closing and terminal events of a run whose body did not end it. */
  private finalize(bodyFailure: CopilotRuntimeError | null): Terminal {
    const { threadId, runId } = this.init;
    const cause = this.abortCause;
    const stopped = cause !== null && isStop(cause.reason);
    const failure = stopped
      ? null
      : (cause?.error ??
        (cause ? failureFor(cause.reason, runId) : null) ??
        bodyFailure ??
        new CopilotRuntimeError('UNKNOWN', 'The run ended without a final event.'));
    const message = stopped ? stopMessage(cause!.reason) : failure!.message;
    // Emitted together, as one batch, with the terminal event last.
    const closing: BaseEvent[] = [];

    for (const [messageId, type] of this.openMessages) {
      closing.push({ type: endOf(type), messageId } as BaseEvent);
    }
    for (const toolCallId of this.openToolCalls) {
      closing.push({ type: EventType.TOOL_CALL_END, toolCallId } as BaseEvent);
    }
    for (const [toolCallId, toolCallName] of this.unansweredToolCalls) {
      closing.push({
        type: EventType.TOOL_CALL_RESULT,
        messageId: `result-${toolCallId}`,
        toolCallId,
        toolCallName,
        role: 'tool',
        content: JSON.stringify(
          stopped
            ? { status: 'stopped', reason: 'stop_requested', message }
            : { status: 'error', reason: 'run_failed', message },
        ),
      } as BaseEvent);
    }

    if (stopped) {
      const value: RunStoppedValue = { runId, reason: cause!.reason, message };
      closing.push({ type: EventType.CUSTOM, name: RUN_STOPPED_EVENT, value } as BaseEvent);
      closing.push({ type: EventType.RUN_FINISHED, threadId, runId } as BaseEvent);
      this.emitAll(closing);
      return { status: 'stopped', error: null };
    }
    const errorId = newId('err');
    const causeText = failure!.cause instanceof Error ? ` (cause: ${failure!.cause.message})` : '';
    RunExecution.logger.error(
      `[${errorId}] run ${runId} on thread ${threadId} failed with ${failure!.code}: ${failure!.message}${causeText}`,
      this.init.log ?? { threadId, runId },
    );
    closing.push({ type: EventType.RUN_ERROR, message: failure!.message, code: failure!.code, errorId } as BaseEvent);
    this.emitAll(closing);
    return { status: 'failed', error: { code: failure!.code, message: failure!.message } };
  }

  /**
   * Numbers, stamps and tracks a batch, drops what follows a terminal event, and hands the rest
   * on in one call. The timestamp is set on the event itself (the body hands its events over;
   * one that cannot take it, frozen, is copied): one clock read per batch, no copy per event.
   */
  private emitAll(events: readonly BaseEvent[]): void {
    const { threadId, runId } = this.init;
    const logged: LoggedEvent[] = [];
    const now = Date.now();
    for (let event of events) {
      if (this.terminal) break;
      if (event.timestamp === undefined) {
        if (Object.isExtensible(event)) event.timestamp = now;
        else event = { ...event, timestamp: now };
      }
      this.track(event);
      this.assembler.apply(event);
      logged.push({ threadId, runId, sequence: this.nextSequence++, event });
      if (event.type === EventType.RUN_FINISHED) {
        this.terminal = { status: 'succeeded', error: null };
      } else if (event.type === EventType.RUN_ERROR) {
        const e = event as BaseEvent & { code?: string; message?: string };
        this.terminal = { status: 'failed', error: { code: e.code ?? 'UNKNOWN', message: e.message ?? '' } };
      }
    }
    if (logged.length === 0) return;
    this.init.emitBatch(logged);
  }

  private track(event: BaseEvent): void {
    const e = event as BaseEvent & Record<string, any>;
    switch (event.type) {
      case EventType.TEXT_MESSAGE_START:
      case EventType.THINKING_TEXT_MESSAGE_START:
      case EventType.REASONING_MESSAGE_START:
        this.openMessages.set(e.messageId ?? '', event.type);
        return;
      case EventType.TEXT_MESSAGE_END:
      case EventType.THINKING_TEXT_MESSAGE_END:
      case EventType.REASONING_MESSAGE_END:
        this.openMessages.delete(e.messageId ?? '');
        return;
      case EventType.TOOL_CALL_START:
        this.openToolCalls.add(e.toolCallId);
        this.unansweredToolCalls.set(e.toolCallId, e.toolCallName);
        return;
      case EventType.TOOL_CALL_END:
        this.openToolCalls.delete(e.toolCallId);
        return;
      case EventType.TOOL_CALL_RESULT:
        this.unansweredToolCalls.delete(e.toolCallId);
        return;
      default:
        return;
    }
  }
}

function isStop(reason: StopReason): boolean {
  return reason === 'stop' || reason === 'caller_gone' || reason === 'superseded';
}

function stopMessage(reason: StopReason): string {
  switch (reason) {
    case 'caller_gone':
      return 'Run stopped: the client went away.';
    case 'superseded':
      return 'Run stopped: a newer run on the thread replaced it.';
    default:
      return 'Run stopped by user.';
  }
}

function failureFor(reason: StopReason, runId: string): CopilotRuntimeError {
  switch (reason) {
    case 'lock_lost':
      return new CopilotRuntimeError(
        'UNKNOWN',
        `Run ${runId} lost its thread lock (the heartbeat could not renew it in time) and was aborted.`,
      );
    case 'shutdown':
      return new CopilotRuntimeError(
        'NETWORK_ERROR',
        'The server shut down during the run. Send the message again.',
      );
    case 'persistence':
      return new CopilotRuntimeError('PERSISTENCE_UNAVAILABLE', 'The database became unavailable during the run.');
    default:
      return new CopilotRuntimeError('UNKNOWN', 'The run was aborted.');
  }
}

function endOf(start: EventType): EventType {
  switch (start) {
    case EventType.THINKING_TEXT_MESSAGE_START:
      return EventType.THINKING_TEXT_MESSAGE_END;
    case EventType.REASONING_MESSAGE_START:
      return EventType.REASONING_MESSAGE_END;
    default:
      return EventType.TEXT_MESSAGE_END;
  }
}

export function asRuntimeError(error: unknown): CopilotRuntimeError {
  if (error instanceof CopilotRuntimeError) return error;
  return new CopilotRuntimeError('UNKNOWN', 'The run failed unexpectedly.', { cause: error });
}

export function isTerminal(event: BaseEvent): boolean {
  return event.type === EventType.RUN_FINISHED || event.type === EventType.RUN_ERROR;
}
