import { AbstractAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Observable } from 'rxjs';

/**
 * An in-process AG-UI agent that plays a script built from its input (so tests can echo what the
 * agent received). Every run is recorded, on the prototype shared by its clones.
 */
export class ScriptedAgent extends AbstractAgent {
  constructor(
    private readonly script: (input: RunAgentInput) => Array<Record<string, unknown>>,
    readonly inputs: RunAgentInput[] = [],
  ) {
    super({ description: 'scripted' });
  }

  run(input: RunAgentInput): Observable<BaseEvent> {
    this.inputs.push(input);
    return new Observable<BaseEvent>((subscriber) => {
      const events = this.script(input);
      let index = 0;
      const timer = setInterval(() => {
        if (index >= events.length) {
          clearInterval(timer);
          subscriber.complete();
          return;
        }
        subscriber.next(events[index++] as BaseEvent);
      }, 1);
      return () => clearInterval(timer);
    });
  }

  override clone(): ScriptedAgent {
    return new ScriptedAgent(this.script, this.inputs);
  }
}

/** The event script of the captured `agui_agent_session`: steps, state, text, a tool call, an interrupt. */
export function capturedAgentScript(input: RunAgentInput): Array<Record<string, unknown>> {
  const { threadId, runId } = input;
  return [
    { type: EventType.RUN_STARTED, threadId, runId },
    { type: EventType.STEP_STARTED, stepName: 'plan_node' },
    { type: EventType.STATE_SNAPSHOT, snapshot: { plan: ['a', 'b'], counter: 1 } },
    { type: EventType.TEXT_MESSAGE_START, messageId: 'agui-msg-1', role: 'assistant' },
    { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'agui-msg-1', delta: 'AG-UI ' },
    { type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'agui-msg-1', delta: 'says hi' },
    { type: EventType.TEXT_MESSAGE_END, messageId: 'agui-msg-1' },
    { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/counter', value: 2 }] },
    { type: EventType.TOOL_CALL_START, toolCallId: 'agui-tc-1', toolCallName: 'showAlert', parentMessageId: 'agui-msg-1' },
    { type: EventType.TOOL_CALL_ARGS, toolCallId: 'agui-tc-1', delta: '{"message":' },
    { type: EventType.TOOL_CALL_ARGS, toolCallId: 'agui-tc-1', delta: '"from agent"}' },
    { type: EventType.TOOL_CALL_END, toolCallId: 'agui-tc-1' },
    { type: EventType.CUSTOM, name: 'on_interrupt', value: JSON.stringify({ question: 'Approve?' }) },
    { type: EventType.STEP_FINISHED, stepName: 'plan_node' },
    { type: EventType.RUN_FINISHED, threadId, runId },
  ];
}
