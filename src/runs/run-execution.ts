import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { MessageAssembler } from '../runtime/message-assembler.js';
import type { LoggedEvent } from './logged-event.js';

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
  /** Receives every event with its sequence, synchronously, in order (publish + log). */
  emit: (event: LoggedEvent) => void;
}

const ABORTED = Symbol('aborted');

/**
 * Drives a run's body (the pump): numbers its events, hands them to `emit`, and makes sure the
 * run ends with exactly one terminal event whatever happens to the body:
 * - the body's own RUN_FINISHED / RUN_ERROR decides the status (events after it are dropped);
 * - aborted (stop, caller gone, superseded): open text messages and tool calls are closed, tool
 *   calls without a result get a `stopped` result (as upstream's finalizeRunEvents does), then
 *   CUSTOM `run_stopped` and RUN_FINISHED;
 * - failed (the body threw, ended without a terminal event, the lock was lost, the log could not
 *   be written, shutdown): the same closing events, then RUN_ERROR `{message, code, errorId}`.
 * An abort does not wait for a body that ignores its signal: the pump stops reading it at once.
 */
export class RunExecution {
  private static readonly logger = new Logger('RunExecution');
  private readonly controller = new AbortController();
  private abortCause: { reason: StopReason; error?: CopilotRuntimeError } | null = null;
  private nextSequence = 1;
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
    let terminal: { status: FinalStatus; error: RunResult['error'] } | null = null;
    let bodyFailure: CopilotRuntimeError | null = null;
    let iterator: AsyncIterator<BaseEvent> | null = null;
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      if (this.signal.aborted) resolve(ABORTED);
      else this.signal.addEventListener('abort', () => resolve(ABORTED), { once: true });
    });

    try {
      iterator = this.init.body(this.signal)[Symbol.asyncIterator]();
      for (;;) {
        const next = iterator.next();
        // Settled later, if at all, when the abort wins the race.
        next.catch(() => undefined);
        const step = await Promise.race([next, aborted]);
        if (step === ABORTED || step.done) break;
        if (terminal) continue;
        const event = step.value;
        this.emit(event);
        if (event.type === EventType.RUN_FINISHED) {
          terminal = { status: 'succeeded', error: null };
        } else if (event.type === EventType.RUN_ERROR) {
          const e = event as BaseEvent & { code?: string; message?: string };
          terminal = { status: 'failed', error: { code: e.code ?? 'UNKNOWN', message: e.message ?? '' } };
        }
      }
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

    if (!terminal) terminal = this.finalize(bodyFailure);
    return {
      status: terminal.status,
      error: terminal.error,
      usage,
      outputMessages: this.assembler.result(),
      lastSequence: this.nextSequence - 1,
      stopReason: this.abortCause?.reason ?? null,
    };
  }

  /** Appends the closing and terminal events of a run whose body did not end it. */
  private finalize(bodyFailure: CopilotRuntimeError | null): { status: FinalStatus; error: RunResult['error'] } {
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

    for (const [messageId, type] of this.openMessages) {
      this.emit({ type: endOf(type), messageId } as BaseEvent);
    }
    for (const toolCallId of this.openToolCalls) {
      this.emit({ type: EventType.TOOL_CALL_END, toolCallId } as BaseEvent);
    }
    for (const [toolCallId, toolCallName] of this.unansweredToolCalls) {
      this.emit({
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
      this.emit({ type: EventType.CUSTOM, name: RUN_STOPPED_EVENT, value } as BaseEvent);
      this.emit({ type: EventType.RUN_FINISHED, threadId, runId } as BaseEvent);
      return { status: 'stopped', error: null };
    }
    const errorId = newId('err');
    const causeText = failure!.cause instanceof Error ? ` (cause: ${failure!.cause.message})` : '';
    RunExecution.logger.error(
      `[${errorId}] run ${runId} on thread ${threadId} failed with ${failure!.code}: ${failure!.message}${causeText}`,
    );
    this.emit({ type: EventType.RUN_ERROR, message: failure!.message, code: failure!.code, errorId } as BaseEvent);
    return { status: 'failed', error: { code: failure!.code, message: failure!.message } };
  }

  private emit(event: BaseEvent): void {
    const stamped = (event.timestamp === undefined ? { ...event, timestamp: Date.now() } : event) as BaseEvent;
    this.track(stamped);
    this.assembler.apply(stamped);
    this.init.emit({
      threadId: this.init.threadId,
      runId: this.init.runId,
      sequence: this.nextSequence++,
      event: stamped,
    });
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
