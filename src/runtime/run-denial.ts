import { EventType, type BaseEvent } from '@ag-ui/core';
import { newId } from '../common/ids.js';
import type { RunDenial } from './run-policy.js';

/**
 * The CUSTOM event a denied run carries right after RUN_STARTED:
 * `{type:'CUSTOM', name:'run_denied', value:{code, reason, message, messageId}}`. It tells the v1
 * projection that the next text message is the denial (v1 shows it as an empty message with a
 * failed status, as upstream does) and what the response status is; v2 drops it (its client
 * reads the assistant message and RUN_ERROR's code).
 */
export const RUN_DENIED_EVENT = 'run_denied';

export interface RunDeniedValue {
  code: string;
  reason: string;
  message: string;
  messageId: string;
}

export function isRunDenied(event: BaseEvent): event is BaseEvent & { name: string; value: RunDeniedValue } {
  return event.type === EventType.CUSTOM && (event as { name?: string }).name === RUN_DENIED_EVENT;
}

/**
 * A denied run's whole body: the denial as the run's answer, recorded like any run (so the thread
 * shows why nothing was answered), without calling an agent or a model.
 */
export async function* denialEvents(threadId: string, runId: string, denial: RunDenial): AsyncGenerator<BaseEvent> {
  const messageId = newId('msg');
  const value: RunDeniedValue = { code: denial.code, reason: denial.reason, message: denial.userMessage, messageId };
  yield { type: EventType.RUN_STARTED, threadId, runId } as BaseEvent;
  yield { type: EventType.CUSTOM, name: RUN_DENIED_EVENT, value } as BaseEvent;
  yield { type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' } as BaseEvent;
  yield { type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: denial.userMessage } as BaseEvent;
  yield { type: EventType.TEXT_MESSAGE_END, messageId } as BaseEvent;
  yield { type: EventType.RUN_ERROR, message: denial.userMessage, code: denial.code } as BaseEvent;
}
