import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../common/request-context.js';
import { ConversationStore } from '../persistence/conversation-store.js';

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
  constructor(private readonly store: ConversationStore) {}

  async loadAgentState(_ctx: RequestContext, threadId: string, _agentName: string): Promise<AgentStateSnapshot> {
    const thread = await this.store.findThread(threadId);
    if (!thread) return { threadId, threadExists: false, state: '{}', messages: '[]' };
    const messages = await this.store.listMessages(threadId);
    // Agent state arrives with agents (a later module); until then a thread's state is empty.
    return { threadId, threadExists: true, state: '{}', messages: JSON.stringify(messages) };
  }
}
