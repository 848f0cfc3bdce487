import { Injectable } from '@nestjs/common';
import { AgentRegistry } from '../agents/agent-registry.js';
import type { RequestContext } from '../common/request-context.js';
import { ConversationStore } from '../ports/conversation-store.js';
import { AgentStateStore } from '../ports/run-stores.js';

export interface AgentStateSnapshot {
  threadId: string;
  threadExists: boolean;
  /** JSON text, as the v1 contract carries it. */
  state: string;
  /** JSON text of the thread's messages in AG-UI's shape. */
  messages: string;
}

/** Reads a thread back: what `loadAgentState` returns. */
@Injectable()
export class ThreadStateService {
  constructor(
    private readonly store: ConversationStore,
    private readonly agentStates: AgentStateStore,
    private readonly agents: AgentRegistry,
  ) {}

  /**
   * An agent that is not registered is AGENT_NOT_FOUND, as upstream answers (the client relies on
   * it); another identity's thread is reported exactly like a missing one.
   */
  async loadAgentState(ctx: RequestContext, threadId: string, agentName: string): Promise<AgentStateSnapshot> {
    const agent = await this.agents.resolve(agentName, { identity: ctx.identity, properties: {} });
    const thread = await this.store.findThread(threadId);
    if (thread && thread.ownerId !== ctx.identity.id) return unknownThread(threadId);
    // An agent that keeps its threads itself (a remote endpoint's) answers for them.
    if (agent.loadState) {
      const remote = await agent.loadState(threadId, { identity: ctx.identity, properties: {} });
      if (!remote.threadExists) return unknownThread(threadId);
      return { threadId, threadExists: true, state: asJsonText(remote.state, '{}'), messages: asJsonText(remote.messages, '[]') };
    }
    if (!thread) return unknownThread(threadId);
    const [messages, state] = await Promise.all([
      this.store.listMessages(threadId),
      this.agentStates.latest(threadId, agentName),
    ]);
    return { threadId, threadExists: true, state: JSON.stringify(state?.state ?? {}), messages: JSON.stringify(messages) };
  }
}

function unknownThread(threadId: string): AgentStateSnapshot {
  return { threadId, threadExists: false, state: '{}', messages: '[]' };
}

/** JSON text as v1 carries it: text that already is JSON as it is, anything else serialized. */
function asJsonText(value: unknown, empty: string): string {
  if (value === undefined || value === null) return empty;
  if (typeof value === 'string') {
    try {
      JSON.parse(value);
      return value;
    } catch {
      return JSON.stringify(value);
    }
  }
  return JSON.stringify(value);
}
