import { EventType, type BaseEvent } from '@ag-ui/core';
import type { RunHandle } from '../../runtime/run-handle.js';
import type { CopilotEventType, ResponseStatus } from '../generated/resolvers-types.js';
import { SUCCESS_RESPONSE, failedResponse } from './response-status.js';

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

function runFinished(status: ResponseStatus): Fields {
  return { __typename: 'RunFinishedEvent', type: 'RUN_FINISHED', status };
}

/** Streams a run as the subscription's flat events; always ends with a RunFinishedEvent. */
export async function* projectCopilotEvents(run: RunHandle): AsyncGenerator<CopilotEventModel> {
  let sequence = 0;
  let finished = false;
  const stamp = (fields: Fields, timestamp?: number): CopilotEventModel => ({
    ...fields,
    threadId: run.threadId,
    runId: run.runId,
    sequence: sequence++,
    timestamp: new Date(timestamp ?? Date.now()),
  });

  for await (const event of run.events) {
    const fields = flatten(event as BaseEvent & Record<string, any>);
    if (!fields) continue;
    finished ||= fields.type === 'RUN_FINISHED';
    yield stamp(fields, event.timestamp);
  }
  if (!finished) {
    yield stamp(runFinished(failedResponse('MESSAGE_STREAM_INTERRUPTED', 'The run was stopped before it finished.')));
  }
}
