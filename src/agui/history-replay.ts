import { compactEvents } from '@ag-ui/client';
import { EventType, type BaseEvent, type Message, type RunAgentInput } from '@ag-ui/core';
import type { RunInput } from '../ports/conversation-store.js';
import type { LoggedEvent } from '../runs/logged-event.js';
import { MessageAssembler } from '../runtime/message-assembler.js';
import { toClientEvent, withRunInput } from './event-projection.js';

export interface ReplayInit {
  threadId: string;
  /** The thread's event log then its live tail (AgentRunner.connect from the start). */
  events: AsyncIterable<LoggedEvent>;
  /** Runs that had ended when the connect began: their events are history. */
  endedRuns: ReadonlySet<string>;
  /**
   * The thread's stored messages, in the order they were first seen, read BEFORE `endedRuns`: a
   * run still going then cannot have stored its outputs yet (they are stored with its end).
   */
  storedMessages: Message[];
  /** The tools and context each run was given, by run id: its RUN_STARTED.input carries them. */
  runInputs?: ReadonlyMap<string, RunInput>;
}

/**
 * What `connect` streams: the thread's history compacted as upstream does (@ag-ui/client's
 * compactEvents: one TEXT_MESSAGE_CONTENT / TOOL_CALL_ARGS per message or call, state collapsed
 * into one STATE_SNAPSHOT before each run's end), then the run that is still going, event by
 * event as it happens. Each run starts with a RUN_STARTED whose `input.messages` are the messages
 * that run brought in (the client takes user and tool-result messages from there alone).
 *
 * History ends at the first event of a run that had not ended when the connect began: those are
 * not compacted (a half-run compacted would hold back its open message until the end).
 */
export async function* replayThenFollow(init: ReplayInit): AsyncGenerator<BaseEvent> {
  const history: LoggedEvent[] = [];
  const inputs = new InputAttribution(init.storedMessages);
  const given = (logged: LoggedEvent) => ({
    threadId: logged.threadId,
    runId: logged.runId,
    ...(init.runInputs?.get(logged.runId) as Partial<RunAgentInput> | undefined),
  });
  let live = false;
  let liveRun: string | null = null;

  for await (const logged of init.events) {
    if (!live && init.endedRuns.has(logged.runId)) {
      history.push(logged);
      continue;
    }
    if (!live) {
      live = true;
      yield* compactHistory(history, inputs, given);
      history.length = 0;
    }
    if (logged.runId !== liveRun) {
      liveRun = logged.runId;
      // A run replayed from its middle still needs its opening event: the client needs a started run.
      if (logged.event.type !== EventType.RUN_STARTED) {
        yield withRunInput(startEvent(logged), given(logged), inputs.takeRemaining());
      }
    }
    const event = toClientEvent(logged);
    if (!event) continue;
    yield event.type === EventType.RUN_STARTED ? withRunInput(event, given(logged), inputs.takeRemaining()) : event;
  }
  if (!live) yield* compactHistory(history, inputs, given);
}

function* compactHistory(
  history: LoggedEvent[],
  inputs: InputAttribution,
  given: (logged: LoggedEvent) => Partial<RunAgentInput> & { threadId: string; runId: string },
): Generator<BaseEvent> {
  if (history.length === 0) return;
  const runs = groupByRun(history);
  inputs.learnOutputs(runs);
  const events: BaseEvent[] = [];
  runs.forEach((run, index) => {
    const ids = given(run.events[0]!);
    const messages = inputs.inputsOf(index);
    if (run.events[0]!.event.type !== EventType.RUN_STARTED) events.push(withRunInput(startEvent(run.events[0]!), ids, messages));
    const open = new OpenParts();
    for (const logged of run.events) {
      const event = toClientEvent(logged);
      if (!event) continue;
      // A run cut short (its instance died, it was stopped) may have left a message or a tool call
      // open: closed before its end, or compaction would move them after it.
      if (event.type === EventType.RUN_FINISHED || event.type === EventType.RUN_ERROR) events.push(...open.closeAll());
      else open.track(event);
      events.push(event.type === EventType.RUN_STARTED ? withRunInput(event, ids, messages) : event);
    }
  });
  yield* compactEvents(events);
}

/** The text messages and tool calls of a run that have started and not ended yet. */
class OpenParts {
  private readonly messages = new Set<string>();
  private readonly toolCalls = new Set<string>();

  track(event: BaseEvent): void {
    const { messageId, toolCallId } = event as BaseEvent & { messageId?: string; toolCallId?: string };
    if (event.type === EventType.TEXT_MESSAGE_START && messageId) this.messages.add(messageId);
    else if (event.type === EventType.TEXT_MESSAGE_END && messageId) this.messages.delete(messageId);
    else if (event.type === EventType.TOOL_CALL_START && toolCallId) this.toolCalls.add(toolCallId);
    else if (event.type === EventType.TOOL_CALL_END && toolCallId) this.toolCalls.delete(toolCallId);
  }

  closeAll(): BaseEvent[] {
    const ends: BaseEvent[] = [
      ...[...this.messages].map((messageId) => ({ type: EventType.TEXT_MESSAGE_END, messageId }) as BaseEvent),
      ...[...this.toolCalls].map((toolCallId) => ({ type: EventType.TOOL_CALL_END, toolCallId }) as BaseEvent),
    ];
    this.messages.clear();
    this.toolCalls.clear();
    return ends;
  }
}

interface RunEvents {
  runId: string;
  events: LoggedEvent[];
}

function groupByRun(events: LoggedEvent[]): RunEvents[] {
  const runs: RunEvents[] = [];
  for (const logged of events) {
    const last = runs.at(-1);
    if (last?.runId === logged.runId) last.events.push(logged);
    else runs.push({ runId: logged.runId, events: [logged] });
  }
  return runs;
}

function startEvent(logged: LoggedEvent): BaseEvent {
  return { type: EventType.RUN_STARTED, threadId: logged.threadId, runId: logged.runId } as BaseEvent;
}

/**
 * Which stored messages each run brought in. Messages are stored in the order first seen: a run's
 * new input messages when it starts, its output messages when it ends, so a thread reads
 * `in(1) out(1) in(2) out(2) ...`. The outputs of each run are known from its events (the same
 * folding the runner stores them with); every other message is an input, given to the first run
 * after the outputs that precede it. The client ends up with the stored order either way; a run
 * without output (failed early) only shifts which RUN_STARTED carries the next inputs.
 */
class InputAttribution {
  private readonly outputRun = new Map<string, number>();
  private readonly byRun = new Map<number, Message[]>();
  private next = 0;

  constructor(private readonly stored: Message[]) {}

  learnOutputs(runs: RunEvents[]): void {
    runs.forEach((run, index) => {
      const assembler = new MessageAssembler();
      for (const logged of run.events) assembler.apply(logged.event);
      for (const message of assembler.result()) this.outputRun.set(message.id, index);
    });
    let lastOutputRun = -1;
    for (; this.next < this.stored.length; this.next++) {
      const message = this.stored[this.next]!;
      const producer = this.outputRun.get(message.id);
      if (producer !== undefined) {
        lastOutputRun = Math.max(lastOutputRun, producer);
        continue;
      }
      const owner = Math.min(lastOutputRun + 1, runs.length);
      // Inputs after the last ended run's outputs belong to a run still going (or yet to come).
      if (owner === runs.length) break;
      this.byRun.set(owner, [...(this.byRun.get(owner) ?? []), message]);
    }
  }

  inputsOf(runIndex: number): Message[] {
    return this.byRun.get(runIndex) ?? [];
  }

  /** The messages not given to an ended run: the inputs of the run that is live. */
  takeRemaining(): Message[] {
    const rest = this.stored.slice(this.next).filter((message) => !this.outputRun.has(message.id));
    this.next = this.stored.length;
    return rest;
  }
}
