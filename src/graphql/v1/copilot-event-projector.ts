import { EventType, type BaseEvent } from '@ag-ui/core';
import { batchesOf } from '../../common/batched-iterable.js';
import type { LoggedEvent } from '../../runs/logged-event.js';
import { RUN_STOPPED_EVENT } from '../../runs/run-execution.js';
import type { CopilotEventType, ResponseStatus } from '../generated/resolvers-types.js';
import type { MetaEventModel } from '../models/response.models.js';
import { AgentStateProjection } from './agent-state-projection.js';
import { toMetaEvent } from './meta-event-projection.js';
import { isRunDenied, type RunDeniedValue } from '../../runtime/run-denial.js';
import { SUCCESS_RESPONSE, deniedResponse, failedResponse } from './response-status.js';

/** One flat event of the `copilotEvents` subscription (its `__typename` picks the GraphQL type). */
export type CopilotEventModel = {
  __typename: string;
  type: CopilotEventType;
  threadId: string;
  runId: string;
  sequence: number;
  timestamp: Date;
} & Record<string, unknown>;

type Fields = { __typename: string; type: CopilotEventType } & Record<string, unknown>;

/** Maps one AG-UI event to the subscription's flat event, or null when v1 has no counterpart. */
function flatten(event: BaseEvent & Record<string, any>): Fields | null {
  switch (event.type) {
    case EventType.RUN_STARTED:
      return { __typename: 'RunStartedEvent', type: 'RUN_STARTED' };
    case EventType.TEXT_MESSAGE_START:
      return {
        __typename: 'TextMessageStartEvent',
        type: 'TEXT_MESSAGE_START',
        messageId: event.messageId,
        parentMessageId: event.parentMessageId ?? null,
        role: 'assistant',
      };
    case EventType.TEXT_MESSAGE_CONTENT:
      return { __typename: 'TextMessageContentEvent', type: 'TEXT_MESSAGE_CONTENT', messageId: event.messageId, delta: event.delta };
    case EventType.TEXT_MESSAGE_END:
      return { __typename: 'TextMessageEndEvent', type: 'TEXT_MESSAGE_END', messageId: event.messageId };
    case EventType.TOOL_CALL_START:
      return {
        __typename: 'ActionExecutionStartEvent',
        type: 'ACTION_EXECUTION_START',
        actionExecutionId: event.toolCallId,
        actionName: event.toolCallName,
        parentMessageId: event.parentMessageId ?? null,
      };
    case EventType.TOOL_CALL_ARGS:
      return { __typename: 'ActionExecutionArgsEvent', type: 'ACTION_EXECUTION_ARGS', actionExecutionId: event.toolCallId, delta: event.delta };
    case EventType.TOOL_CALL_END:
      return { __typename: 'ActionExecutionEndEvent', type: 'ACTION_EXECUTION_END', actionExecutionId: event.toolCallId };
    case EventType.TOOL_CALL_RESULT:
      return {
        __typename: 'ActionExecutionResultEvent',
        type: 'ACTION_EXECUTION_RESULT',
        actionExecutionId: event.toolCallId,
        actionName: event.toolCallName ?? '',
        result: event.content,
      };
    case EventType.RUN_FINISHED:
      return runFinished(SUCCESS_RESPONSE);
    case EventType.RUN_ERROR:
      return runFinished(
        failedResponse('UNKNOWN_ERROR', event.message, { code: event.code ?? 'UNKNOWN', errorId: event.errorId }),
      );
    default:
      return null;
  }
}

/** An agent's state and interrupts: v1's AgentStateMessage and meta events, flat. */
function agentFields(event: BaseEvent & Record<string, any>, agentState: AgentStateProjection): Fields | null {
  const state = agentState.apply(event);
  if (state) {
    return {
      __typename: 'AgentStateEvent',
      type: 'AGENT_STATE',
      agentName: state.agentName,
      nodeName: state.nodeName,
      state: state.state,
      running: state.running,
      active: state.active,
    };
  }
  const meta = toMetaEvent(event);
  return meta && metaEventFields(meta);
}

function metaEventFields(meta: MetaEventModel): Fields {
  if (meta.__typename === 'LangGraphInterruptEvent') {
    return { __typename: 'MetaEventEvent', type: 'META_EVENT', name: meta.name, value: meta.value, data: null };
  }
  return { __typename: 'MetaEventEvent', type: 'META_EVENT', name: meta.name, value: meta.data.value, data: meta.data };
}

function runFinished(status: ResponseStatus): Fields {
  return { __typename: 'RunFinishedEvent', type: 'RUN_FINISHED', status };
}

/**
 * Streams logged run events as the subscriptions' flat events. `sequence` is the event's
 * sequence in its thread, so a subscriber can resume after the last one it saw. Every run in the
 * stream ends with a RunFinishedEvent, also when the stream itself ends before the run did.
 *
 * A stopped run ends with CUSTOM `run_stopped` then RUN_FINISHED: the pair becomes one
 * RunFinishedEvent with the stopped status, numbered as the RUN_FINISHED (the run's last event),
 * so resuming after it never repeats the run's end, and a stream that starts (resumes) right
 * before a run's RUN_FINISHED or RUN_ERROR still delivers it.
 */
export async function* projectCopilotEvents(source: {
  threadId: string;
  events: AsyncIterable<LoggedEvent>;
}): AsyncGenerator<CopilotEventModel> {
  let open: { runId: string; sequence: number } | null = null;
  const agentState = new AgentStateProjection(source.threadId);
  /** A `run_stopped` waiting for its RUN_FINISHED. */
  let stopping: { logged: LoggedEvent; message?: string; timestamp?: number } | null = null;
  /** A denied run's denial: its RUN_ERROR becomes the denied status (GUARDRAILS_VALIDATION_FAILED). */
  let denial: RunDeniedValue | null = null;
  const stamp = (fields: Fields, logged: { runId: string; sequence: number }, timestamp?: number): CopilotEventModel => ({
    ...fields,
    threadId: source.threadId,
    runId: logged.runId,
    sequence: logged.sequence,
    timestamp: new Date(timestamp ?? Date.now()),
  });

  // A batch at a time (what the run emitted together); each flat event is still its own item.
  for await (const batch of batchesOf(source.events)) {
    for (const logged of batch) {
      const event = logged.event as BaseEvent & Record<string, any>;
      if (isRunDenied(event)) {
        denial = event.value;
        continue;
      }
      if (event.type === EventType.RUN_ERROR && denial && event.code === denial.code) {
        const status = deniedResponse(denial);
        denial = null;
        open = null;
        yield stamp(runFinished(status), logged, event.timestamp);
        continue;
      }
      if (event.type === EventType.CUSTOM && event.name === RUN_STOPPED_EVENT) {
        stopping = { logged, message: event.value?.message, timestamp: event.timestamp };
        continue;
      }
      if (stopping) {
        const stop = stopping;
        stopping = null;
        open = null;
        if (event.type === EventType.RUN_FINISHED && logged.runId === stop.logged.runId) {
          yield stamp(runFinished(stoppedStatus(stop.message)), logged, event.timestamp);
          continue;
        }
        yield stamp(runFinished(stoppedStatus(stop.message)), stop.logged, stop.timestamp);
      }
      // One flat event per sequence number (resume relies on it): the final state message v1 sends
      // with a session's RUN_FINISHED has no event of its own here; RunFinishedEvent says it all.
      const agentEvent = agentFields(event, agentState);
      if (agentEvent && event.type !== EventType.RUN_FINISHED) yield stamp(agentEvent, logged, event.timestamp);
      const fields = flatten(event);
      if (!fields) continue;
      open = fields.type === 'RUN_FINISHED' ? null : { runId: logged.runId, sequence: logged.sequence };
      yield stamp(fields, logged, event.timestamp);
    }
  }
  if (stopping) yield stamp(runFinished(stoppedStatus(stopping.message)), stopping.logged, stopping.timestamp);
  else if (open) yield stamp(runFinished(stoppedStatus()), open);
}

function stoppedStatus(message = 'The run was stopped before it finished.'): ResponseStatus {
  return failedResponse('MESSAGE_STREAM_INTERRUPTED', message);
}
