import { EventType, type BaseEvent } from '@ag-ui/core';
import { batchesOf } from '../../common/batched-iterable.js';
import { ReadyItemsQueue } from '../../common/ready-items-queue.js';
import type { RunHandle } from '../../runtime/run-handle.js';
import { RUN_STOPPED_EVENT } from '../../runs/run-execution.js';
import type { MessageStatus, ResponseStatus } from '../generated/resolvers-types.js';
import type { MessageModel } from '../models/message.models.js';
import type { CopilotResponseModel, MetaEventModel } from '../models/response.models.js';
import { AgentStateProjection } from './agent-state-projection.js';
import { Deferred } from './deferred.js';
import { toMetaEvent } from './meta-event-projection.js';
import { isRunDenied, type RunDeniedValue } from '../../runtime/run-denial.js';
import { SUCCESS_MESSAGE, SUCCESS_RESPONSE, deniedResponse, failedMessage, failedResponse } from './response-status.js';

interface OpenStream {
  /** The executor takes what a batch pushed as one `@stream` record (see ReadyItemsQueue). */
  items: ReadyItemsQueue<string>;
  status: Deferred<MessageStatus>;
}

/**
 * Projects a run's AG-UI events onto the v1 `CopilotResponse`: every message becomes an item of
 * the streamed `messages` list as soon as it starts, its text or arguments stream as they arrive,
 * and statuses settle when messages and the run end. Consumes the run as it happens; nothing is
 * buffered beyond what the client has not read yet.
 */
export function projectV1Response(run: RunHandle): CopilotResponseModel {
  const messages = new ReadyItemsQueue<MessageModel>();
  const metaEvents = new ReadyItemsQueue<MetaEventModel>();
  const status = new Deferred<ResponseStatus>();
  const open = new Map<string, OpenStream>();
  const agentState = new AgentStateProjection(run.threadId);
  /** A denied run: its status is known at once, its text message is shown empty and failed (upstream's shape). */
  let denial: RunDeniedValue | null = null;

  const openStream = (id: string): OpenStream => {
    const stream = { items: new ReadyItemsQueue<string>(), status: new Deferred<MessageStatus>() };
    open.set(id, stream);
    return stream;
  };
  const closeStream = (id: string, outcome: MessageStatus): void => {
    const stream = open.get(id);
    if (!stream) return;
    open.delete(id);
    stream.items.end();
    stream.status.resolve(outcome);
  };

  const apply = (event: BaseEvent & Record<string, any>): void => {
    const stateMessage = agentState.apply(event);
    if (stateMessage) messages.push(stateMessage);
    switch (event.type) {
      case EventType.TEXT_MESSAGE_START: {
        const stream = openStream(event.messageId);
        messages.push({
          __typename: 'TextMessageOutput',
          id: event.messageId,
          createdAt: new Date(event.timestamp ?? Date.now()),
          role: 'assistant',
          parentMessageId: event.parentMessageId ?? null,
          content: stream.items,
          status: stream.status.promise,
        });
        return;
      }
      case EventType.TEXT_MESSAGE_CONTENT:
        if (event.messageId === denial?.messageId) return;
        open.get(event.messageId)?.items.push(event.delta);
        return;
      case EventType.TEXT_MESSAGE_END: {
        const denied = event.messageId === denial?.messageId ? denial : null;
        closeStream(event.messageId, denied ? failedMessage(denied.message) : SUCCESS_MESSAGE);
        return;
      }
      case EventType.TOOL_CALL_START: {
        const stream = openStream(event.toolCallId);
        messages.push({
          __typename: 'ActionExecutionMessageOutput',
          id: event.toolCallId,
          createdAt: new Date(event.timestamp ?? Date.now()),
          name: event.toolCallName,
          parentMessageId: event.parentMessageId ?? null,
          arguments: stream.items,
          status: stream.status.promise,
        });
        return;
      }
      case EventType.TOOL_CALL_ARGS:
        open.get(event.toolCallId)?.items.push(event.delta);
        return;
      case EventType.TOOL_CALL_END:
        closeStream(event.toolCallId, SUCCESS_MESSAGE);
        return;
      case EventType.TOOL_CALL_RESULT:
        messages.push({
          __typename: 'ResultMessageOutput',
          id: event.messageId,
          createdAt: new Date(event.timestamp ?? Date.now()),
          actionExecutionId: event.toolCallId,
          actionName: event.toolCallName ?? '',
          result: event.content,
          status: SUCCESS_MESSAGE,
        });
        return;
      case EventType.CUSTOM:
        if (isRunDenied(event)) {
          denial = event.value;
          status.resolve(deniedResponse(denial));
          return;
        }
        if (event.name === RUN_STOPPED_EVENT) {
          status.resolve(failedResponse('MESSAGE_STREAM_INTERRUPTED', event.value?.message ?? 'The run was stopped.'));
          return;
        }
        {
          const metaEvent = toMetaEvent(event);
          if (metaEvent) metaEvents.push(metaEvent);
        }
        return;
      case EventType.RUN_FINISHED:
        status.resolve(SUCCESS_RESPONSE);
        return;
      case EventType.RUN_ERROR:
        for (const id of [...open.keys()]) closeStream(id, failedMessage(event.message));
        status.resolve(
          failedResponse('UNKNOWN_ERROR', event.message, { code: event.code ?? 'UNKNOWN', errorId: event.errorId }),
        );
        return;
      default:
        return;
    }
  };

  void (async () => {
    try {
      // A batch at a time (what the run emitted together), applied synchronously: its deltas are
      // pushed as separate items in one go, and the executor sends them out together.
      for await (const batch of batchesOf(run.events)) {
        for (const logged of batch) apply(logged.event as BaseEvent & Record<string, any>);
      }
    } catch {
      // The runtime reports failures as RUN_ERROR; anything escaping it is handled below.
    } finally {
      const interrupted = 'The run was stopped before it finished.';
      for (const id of [...open.keys()]) closeStream(id, failedMessage(interrupted));
      status.resolve(failedResponse('MESSAGE_STREAM_INTERRUPTED', interrupted));
      messages.end();
      metaEvents.end();
    }
  })();

  return {
    __typename: 'CopilotResponse',
    threadId: run.threadId,
    runId: run.runId,
    extensions: null,
    status: status.promise,
    messages,
    metaEvents,
  };
}
