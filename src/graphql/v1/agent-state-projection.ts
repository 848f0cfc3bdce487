import { EventType, type BaseEvent } from '@ag-ui/core';
import { newId } from '../../common/ids.js';
import {
  AGENT_RUN_FINISHED_EVENT,
  AGENT_RUN_STARTED_EVENT,
  type AgentRunMarkerValue,
} from '../../runtime/agent-run-markers.js';
import { applyStateEvent } from '../../runtime/agent-state.js';
import type { AgentStateMessageModel } from '../models/message.models.js';
import { SUCCESS_MESSAGE } from './response-status.js';

type AgentEvent = BaseEvent & Record<string, any>;

interface AgentScope {
  agentName: string;
  runId: string;
  nodeName: string;
  active: boolean;
  state: Record<string, unknown>;
}

/**
 * The v1 AgentStateMessages of a run: an agent's steps, state snapshots and JSON-Patch deltas
 * become messages that carry the agent's accumulated state (as JSON text), the node it is in and
 * whether it is still running; the last one of an agent's run has `running: false`. Mirrors
 * upstream's AG-UI bridge, except that the final message really says the agent stopped.
 */
export class AgentStateProjection {
  private scope: AgentScope | null = null;

  constructor(private readonly threadId: string) {}

  /**
   * The state message an event causes, if any. An agent's events are recognised by the start
   * marker the runtime puts after its RUN_STARTED (see agent-run-markers).
   */
  apply(event: AgentEvent): AgentStateMessageModel | null {
    if (event.type === EventType.CUSTOM && event.name === AGENT_RUN_STARTED_EVENT) {
      const value = event.value as AgentRunMarkerValue;
      this.scope = this.newScope(value.agentName, value.runId, value.initialState);
      return null;
    }
    const scope = this.scope;
    if (!scope) return null;
    switch (event.type) {
      case EventType.STEP_STARTED:
        scope.nodeName = event.stepName ?? scope.nodeName;
        scope.active = true;
        return this.message(scope, true);
      case EventType.STEP_FINISHED:
        scope.active = false;
        return this.message(scope, true);
      case EventType.STATE_SNAPSHOT:
      case EventType.STATE_DELTA: {
        const change = applyStateEvent(scope.state, event);
        // A delta that does not apply leaves the state as it was (the recorder logs it).
        if (!change || !('state' in change)) return null;
        scope.state = withoutMessages(change.state);
        return this.message(scope, true);
      }
      case EventType.RUN_FINISHED:
        return this.finish();
      case EventType.CUSTOM:
        return event.name === AGENT_RUN_FINISHED_EVENT ? this.finish() : null;
      default:
        return null;
    }
  }

  private finish(): AgentStateMessageModel | null {
    const scope = this.scope;
    if (!scope) return null;
    scope.active = false;
    this.scope = null;
    return this.message(scope, false);
  }

  private newScope(agentName: string, runId: string, initialState: unknown): AgentScope {
    return { agentName, runId, nodeName: '', active: false, state: withoutMessages(initialState) };
  }

  private message(scope: AgentScope, running: boolean): AgentStateMessageModel {
    return {
      __typename: 'AgentStateMessageOutput',
      id: newId('ck'),
      createdAt: new Date(),
      threadId: this.threadId,
      agentName: scope.agentName,
      nodeName: scope.nodeName,
      runId: scope.runId,
      active: scope.active,
      role: 'assistant',
      state: JSON.stringify(scope.state),
      running,
      status: SUCCESS_MESSAGE,
    };
  }
}

/** The conversation travels as v1 messages, not inside the state (as upstream). */
function withoutMessages(state: unknown): Record<string, unknown> {
  if (typeof state !== 'object' || state === null || Array.isArray(state)) return {};
  const { messages: _messages, ...rest } = state as Record<string, unknown>;
  return rest;
}
