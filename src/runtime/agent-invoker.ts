import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import type { AgentCall } from '../agents/agent-call.js';
import type { RegisteredAgent } from '../agents/agent-registry.js';
import { newId } from '../common/ids.js';
import { AgentStateStore, type StoredAgentState } from '../ports/run-stores.js';
import { AGENT_RUN_FINISHED_EVENT, AGENT_RUN_STARTED_EVENT, agentRunMarker } from './agent-run-markers.js';
import { AgentStateRecorder } from './agent-state-recorder.js';

/**
 * Runs registered agents for the runtime: as the run itself (a session) or as a tool the model
 * called (the agent's run nested in the model's). Either way every state change the agent
 * reports is stored per thread and agent.
 */
@Injectable()
export class AgentInvoker {
  constructor(
    private readonly stateRecorder: AgentStateRecorder,
    private readonly agentStates: AgentStateStore,
  ) {}

  /**
   * The state a run starts from: the request's; else the agent's last stored state on the thread,
   * as the run's admission read it (`stored`), or read now when it was not.
   */
  async initialState(threadId: string, agentId: string, given: unknown, stored?: StoredAgentState | null): Promise<unknown> {
    if (!isEmptyState(given)) return given;
    const latest = stored !== undefined ? stored : await this.agentStates.latest(threadId, agentId);
    return latest?.state ?? given ?? {};
  }

  /**
   * The agent's own run, checked now (throws before anything is stored). It starts from the
   * state its `events` are given (see initialState). Its state changes are recorded; a delegate
   * agent's session is announced right after RUN_STARTED by a start marker naming the agent and
   * its initial state, so projections of the live stream and of a replay know whose state events
   * follow (v1 AgentStateMessages). The built-in agent's turns are plain chat.
   */
  async prepare(agent: RegisteredAgent, call: AgentCall): Promise<{
    model?: string | null;
    events(signal: AbortSignal, initialState: Promise<unknown>): AsyncIterable<BaseEvent>;
  }> {
    const prepared = await agent.prepare(call);
    const self = this;
    return {
      model: prepared.model,
      async *events(signal, initialState) {
        const state = await initialState;
        const input = { ...call.input, state };
        for await (const event of self.tracked(agent.id, input, prepared.events(signal, state))) {
          yield event;
          if (event.type === EventType.RUN_STARTED && !agent.builtIn) {
            yield agentRunMarker(AGENT_RUN_STARTED_EVENT, { agentName: agent.id, runId: input.runId, initialState: state });
          }
        }
      },
    };
  }

  /**
   * The model called an agent: the call's result says the agent started (as upstream), then the
   * agent's run streams inside the model's, its RUN_STARTED / RUN_FINISHED turned into markers.
   * A failing agent ends with its RUN_ERROR, which the caller makes the run's terminal event.
   */
  async *asTool(agent: RegisteredAgent, toolCallId: string, caller: AgentCall, signal: AbortSignal): AsyncGenerator<BaseEvent> {
    yield {
      type: EventType.TOOL_CALL_RESULT,
      messageId: `result-${toolCallId}`,
      toolCallId,
      toolCallName: agent.id,
      content: `${agent.id} agent started`,
      role: 'tool',
      timestamp: Date.now(),
    } as BaseEvent;
    const runId = newId('run');
    const { threadId, messages, tools, context } = caller.input;
    const state = await this.initialState(threadId, agent.id, undefined);
    const input: RunAgentInput = { threadId, runId, messages, tools, context, state, forwardedProps: caller.properties };
    const prepared = await agent.prepare({ ...caller, input });
    for await (const event of this.tracked(agent.id, input, prepared.events(signal, state))) {
      if (event.type === EventType.RUN_STARTED) {
        yield agentRunMarker(AGENT_RUN_STARTED_EVENT, { agentName: agent.id, runId, initialState: state });
      } else if (event.type === EventType.RUN_FINISHED) {
        yield agentRunMarker(AGENT_RUN_FINISHED_EVENT, { agentName: agent.id, runId });
      } else {
        yield event;
      }
    }
  }

  private tracked(agentId: string, input: RunAgentInput, events: AsyncIterable<BaseEvent>): AsyncIterable<BaseEvent> {
    return this.stateRecorder.track(events, {
      threadId: input.threadId,
      agentName: agentId,
      runId: input.runId,
      initialState: input.state,
    });
  }
}

/** A request without state (none, or `{}`) starts from the agent's stored state. */
export function isEmptyState(given: unknown): boolean {
  return given === undefined || given === null || (typeof given === 'object' && Object.keys(given).length === 0);
}
