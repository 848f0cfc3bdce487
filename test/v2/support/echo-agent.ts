import { AbstractAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Observable } from 'rxjs';

/**
 * The agent the upstream wire captures were made with (contract/v2/wire/runtime-*), rebuilt from
 * what they show, so our streams can be compared with upstream's event by event:
 * RUN_STARTED, STATE_SNAPSHOT `{turns, forwardedProps}`, the text "Echo: <last user message>" in
 * three deltas ("Echo: ", its first 6 characters, the rest), a call of the first offered tool
 * with `{"echoed": text}`, RUN_FINISHED. Ids: `msg-<runId>`, `tc-<runId>`.
 * `forwardedProps.delayMs` waits that long after RUN_STARTED and after TEXT_MESSAGE_START (a slow
 * run to connect to, stop or keep alive); `forwardedProps.fail` errors after RUN_STARTED.
 */
export class EchoAgent extends AbstractAgent {
  constructor(description = 'Echoes the last user message (no LLM)') {
    super({ description });
  }

  run(input: RunAgentInput): Observable<BaseEvent> {
    return new Observable<BaseEvent>((subscriber) => {
      const timers = new Set<NodeJS.Timeout>();
      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });
      let stopped = false;
      const emit = (event: Record<string, unknown>) => {
        if (!stopped) subscriber.next(event as unknown as BaseEvent);
      };
      void (async () => {
        const { threadId, runId } = input;
        const props = (input.forwardedProps ?? {}) as { delayMs?: number; fail?: boolean };
        const text = lastUserText(input);
        const messageId = `msg-${runId}`;
        emit({ type: EventType.RUN_STARTED, threadId, runId });
        if (props.fail) return subscriber.error(new Error('EchoAgent simulated failure'));
        if (props.delayMs) await sleep(props.delayMs);
        const turns = ((input.state as { turns?: number } | undefined)?.turns ?? 0) + 1;
        emit({ type: EventType.STATE_SNAPSHOT, snapshot: { turns, forwardedProps: input.forwardedProps ?? {} } });
        emit({ type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' });
        if (props.delayMs) await sleep(props.delayMs);
        for (const delta of ['Echo: ', text.slice(0, 6), text.slice(6)]) {
          if (delta) emit({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta });
        }
        emit({ type: EventType.TEXT_MESSAGE_END, messageId });
        const tool = input.tools[0];
        if (tool) {
          const toolCallId = `tc-${runId}`;
          emit({ type: EventType.TOOL_CALL_START, toolCallId, toolCallName: tool.name, parentMessageId: messageId });
          emit({ type: EventType.TOOL_CALL_ARGS, toolCallId, delta: JSON.stringify({ echoed: text }) });
          emit({ type: EventType.TOOL_CALL_END, toolCallId });
        }
        emit({ type: EventType.RUN_FINISHED, threadId, runId });
        if (!stopped) subscriber.complete();
      })();
      return () => {
        stopped = true;
        for (const timer of timers) clearTimeout(timer);
      };
    });
  }

  override clone(): EchoAgent {
    return new EchoAgent(this.description);
  }
}

function lastUserText(input: RunAgentInput): string {
  const user = [...input.messages].reverse().find((message) => message.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}
