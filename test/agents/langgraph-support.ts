import { verifyEvents, type AbstractAgent } from '@ag-ui/client';
import type { BaseEvent, Message, RunAgentInput, Tool } from '@ag-ui/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AGENT_RUNTIME_SERVICES, type AgentRuntimeServices } from '../../src/agents/agent-definition.js';
import { langGraphCheckpointerProvider } from '../../src/agents/langgraph/langgraph-checkpointer.provider.js';
import type { DatabaseOptions } from '../../src/config/runtime-options.js';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';

/** The runtime's persistence plus the LangGraph checkpointer provider, as the app boots them. */
export interface BootedCheckpointer {
  services: AgentRuntimeServices;
  dataSource: DataSource;
  close(): Promise<void>;
}

export async function bootCheckpointer(database: DatabaseOptions): Promise<BootedCheckpointer> {
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot(database)],
    providers: [langGraphCheckpointerProvider],
  }).compile();
  moduleRef.useLogger(false);
  return {
    services: moduleRef.get<AgentRuntimeServices>(AGENT_RUNTIME_SERVICES),
    dataSource: moduleRef.get(DataSource),
    close: () => moduleRef.close(),
  };
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function runInput(overrides: Partial<RunAgentInput> & { threadId: string }): RunAgentInput {
  return {
    runId: uniqueId('run'),
    messages: [],
    tools: [],
    context: [],
    state: {},
    forwardedProps: {},
    ...overrides,
  };
}

export function userMessage(content: string, id = uniqueId('user')): Message {
  return { id, role: 'user', content };
}

/**
 * Every event of one run, checked by AG-UI's own grammar verifier (the one AbstractAgent#runAgent
 * applies): a START twice, an END without START or a RUN_FINISHED with open steps fails the run.
 */
export function collectRun(agent: AbstractAgent, input: RunAgentInput): Promise<BaseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: BaseEvent[] = [];
    // run() and verifyEvents come from different rxjs copies; they interoperate at runtime.
    const verified = verifyEvents()(agent.run(input) as never) as unknown as {
      subscribe(observer: { next(event: BaseEvent): void; error(error: unknown): void; complete(): void }): unknown;
    };
    verified.subscribe({ next: (event) => events.push(event), error: reject, complete: () => resolve(events) });
  });
}

export function ofType<T = BaseEvent & Record<string, any>>(events: BaseEvent[], type: string): T[] {
  return events.filter((event) => event.type === type) as T[];
}

/** Event types in order, with runs of one type collapsed (CONTENT x5 → CONTENT). */
export function shape(events: BaseEvent[]): string[] {
  const types: string[] = [];
  for (const event of events) {
    const label = event.type === 'STEP_STARTED' || event.type === 'STEP_FINISHED'
      ? `${event.type}:${(event as unknown as { stepName: string }).stepName}`
      : event.type;
    if (types.at(-1) !== label) types.push(label);
  }
  return types;
}

export const showAlertTool: Tool = {
  name: 'showAlert',
  description: 'Show an alert in the browser',
  parameters: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};

/** A promise with its resolve function outside, for what a graph node observes. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
