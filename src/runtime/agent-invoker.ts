import { EventType, type BaseEvent, type Message, type RunAgentInput, type Tool } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { streamAgentRun } from '../agents/agent-event-stream.js';
import type { RegisteredAgent } from '../agents/agent-registry.js';
import { newId } from '../common/ids.js';
import { AgentStateStore } from '../ports/run-stores.js';
import { AGENT_RUN_FINISHED_EVENT, AGENT_RUN_STARTED_EVENT, agentRunMarker } from './agent-run-markers.js';
import { AgentStateRecorder } from './agent-state-recorder.js';

/** What an agent called as a tool gets: the conversation so far and the request's tools. */
export interface AgentToolCall {
  toolCallId: string;
  threadId: string;
  messages: Message[];
  tools: Tool[];
  context: RunAgentInput['context'];
  properties: Record<string, unknown>;
}

/**
 * Runs registered agents for the runtime: as a session (the whole run is the agent's) or as a
 * tool the model called (the agent's run nested in the model's). Either way every state change
 * the agent reports is stored per thread and agent.
 */
@Injectable()
export class AgentInvoker {
  constructor(
    private readonly stateRecorder: AgentStateRecorder,
    private readonly agentStates: AgentStateStore,
  ) {}

  /** The state a run starts from: the request's, or the agent's last stored state on the thread. */
  async initialState(threadId: string, agentId: string, given: unknown): Promise<unknown> {
    const empty = given === undefined || given === null || (typeof given === 'object' && Object.keys(given).length === 0);
    if (!empty) return given;
    const stored = await this.agentStates.latest(threadId, agentId);
    return stored?.state ?? given ?? {};
  }

  /**
   * The agent's own run: its events as they come, state changes recorded. Right after RUN_STARTED
   * a start marker names the agent and its initial state, so the log says whose state events
   * follow (projections of a replay need that as much as the live stream).
   */
  async *session(
    agent: RegisteredAgent,
    input: RunAgentInput,
    signal: AbortSignal,
    forwardedHeaders?: Record<string, string>,
  ): AsyncGenerator<BaseEvent> {
    for await (const event of this.tracked(agent, input, signal, forwardedHeaders)) {
      yield event;
      if (event.type === EventType.RUN_STARTED) {
        yield agentRunMarker(AGENT_RUN_STARTED_EVENT, { agentName: agent.id, runId: input.runId, initialState: input.state });
      }
    }
  }

  private tracked(
    agent: RegisteredAgent,
    input: RunAgentInput,
    signal: AbortSignal,
    forwardedHeaders?: Record<string, string>,
  ): AsyncIterable<BaseEvent> {
    return this.stateRecorder.track(streamAgentRun(agent, input, signal, { forwardedHeaders }), {
      threadId: input.threadId,
      agentName: agent.id,
      runId: input.runId,
      initialState: input.state,
    });
  }

  /**
   * The model called an agent: the call's result says the agent started (as upstream), then the
   * agent's run streams inside the model's, its RUN_STARTED / RUN_FINISHED turned into markers.
   * A failing agent ends with its RUN_ERROR, which the caller makes the run's terminal event.
   */
  async *asTool(agent: RegisteredAgent, call: AgentToolCall, signal: AbortSignal): AsyncGenerator<BaseEvent> {
    yield {
      type: EventType.TOOL_CALL_RESULT,
      messageId: `result-${call.toolCallId}`,
      toolCallId: call.toolCallId,
      toolCallName: agent.id,
      content: `${agent.id} agent started`,
      role: 'tool',
      timestamp: Date.now(),
    } as BaseEvent;
    const runId = newId('run');
    const state = await this.initialState(call.threadId, agent.id, undefined);
    const input: RunAgentInput = {
      threadId: call.threadId,
      runId,
      messages: call.messages,
      tools: call.tools,
      context: call.context,
      state,
      forwardedProps: call.properties,
    };
    for await (const event of this.tracked(agent, input, signal)) {
      if (event.type === EventType.RUN_STARTED) {
        yield agentRunMarker(AGENT_RUN_STARTED_EVENT, { agentName: agent.id, runId, initialState: state });
      } else if (event.type === EventType.RUN_FINISHED) {
        yield agentRunMarker(AGENT_RUN_FINISHED_EVENT, { agentName: agent.id, runId });
      } else {
        yield event;
      }
    }
  }
}
