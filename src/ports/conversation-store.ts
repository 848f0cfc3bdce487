import type { Message } from '@ag-ui/core';

/**
 * Storage of threads, runs and their messages. Messages are stored in AG-UI's shape (the form
 * both client generations can be served from) in the order they were first seen in the thread.
 */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'stopped';

export interface RunStart {
  runId: string;
  threadId: string;
  ownerId: string;
  /** The agent that served the run, or null for the plain LLM path. */
  agentName: string | null;
  /** The model that served the run, when known. */
  model: string | null;
  startedAt: Date;
  /** The request's messages. Those already stored in the thread (same id) are skipped. */
  inputMessages: Message[];
  /** The request's tools and context items (AG-UI's), kept for replays; absent when unknown. */
  runInput?: RunInput;
}

/** What a run was given besides its messages, as AG-UI sent it. */
export interface RunInput {
  tools: unknown[];
  context: unknown[];
}

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
}

export interface RunOutcome {
  runId: string;
  threadId: string;
  status: Exclude<RunStatus, 'running'>;
  finishedAt: Date;
  error: { code: string; message: string } | null;
  usage: TokenUsage | null;
  /** Messages the run produced, in order. */
  outputMessages: Message[];
}

export interface ThreadRecord {
  id: string;
  ownerId: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface RunRecord {
  id: string;
  threadId: string;
  status: RunStatus;
  agentName: string | null;
  model: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  error: { code: string; message: string } | null;
  usage: TokenUsage | null;
  /** The tools and context the run was given; null when not recorded (older runs, v1 runs). */
  input?: RunInput | null;
}

export abstract class ConversationStore {
  /** Creates the thread on first use, stores the new input messages and the run row. */
  abstract recordRunStarted(run: RunStart): Promise<void>;
  /** Stores the output messages and the run's final status. */
  abstract recordRunFinished(outcome: RunOutcome): Promise<void>;
  abstract findThread(threadId: string): Promise<ThreadRecord | null>;
  /** The thread's messages in order; empty when the thread does not exist. */
  abstract listMessages(threadId: string): Promise<Message[]>;
  abstract findRun(runId: string): Promise<RunRecord | null>;
}
