import type { Message } from '@ag-ui/core';
import { type DynamicModule, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { type DatabaseOptions, RUNTIME_OPTIONS } from '../../src/config/runtime-options.js';
import type { RunOutcome, RunStart } from '../../src/ports/conversation-store.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import {
  ConversationWriter,
  type ConversationWriterOptions,
} from '../../src/persistence/conversation-writer.js';
import { PersistenceModule } from '../../src/persistence/persistence.module.js';

@Module({})
class TestRuntimeOptionsModule {}

/** Stands in for CopilotRuntimeModule: the importer that owns RUNTIME_OPTIONS. */
export function runtimeOptionsModule(database: DatabaseOptions, global = false): DynamicModule {
  return {
    module: TestRuntimeOptionsModule,
    global,
    providers: [{ provide: RUNTIME_OPTIONS, useValue: { database } }],
    exports: [RUNTIME_OPTIONS],
  };
}

export interface BootedPersistence {
  moduleRef: TestingModule;
  store: ConversationStore;
  writer: ConversationWriter;
  dataSource: DataSource;
  close(): Promise<void>;
}

export async function bootPersistence(
  database: DatabaseOptions,
  writer?: Partial<ConversationWriterOptions>,
): Promise<BootedPersistence> {
  const persistence = writer
    ? PersistenceModule.forRootAsync({
        imports: [runtimeOptionsModule(database)],
        inject: [RUNTIME_OPTIONS],
        useFactory: (options: { database: DatabaseOptions }) => options.database,
        writer,
      })
    : PersistenceModule.forRuntimeOptions([runtimeOptionsModule(database)]);
  const moduleRef = await Test.createTestingModule({ imports: [persistence] }).compile();
  moduleRef.useLogger(false);
  return {
    moduleRef,
    store: moduleRef.get(ConversationStore),
    writer: moduleRef.get(ConversationWriter),
    dataSource: moduleRef.get(DataSource),
    close: () => moduleRef.close(),
  };
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export function userMessage(id: string, content = `text of ${id}`): Message {
  return { id, role: 'user', content };
}

export function assistantMessage(id: string, content = `reply ${id}`): Message {
  return { id, role: 'assistant', content };
}

export function assistantToolCall(id: string, toolCallId: string): Message {
  return {
    id,
    role: 'assistant',
    content: '',
    toolCalls: [
      { id: toolCallId, type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
    ],
  };
}

export function toolResult(id: string, toolCallId: string): Message {
  return { id, role: 'tool', content: '{"answer":42}', toolCallId };
}

export function runStart(overrides: Partial<RunStart> & Pick<RunStart, 'runId' | 'threadId'>): RunStart {
  return {
    ownerId: 'owner-1',
    agentName: null,
    model: 'gpt-test',
    startedAt: new Date(),
    inputMessages: [],
    ...overrides,
  };
}

export function runOutcome(
  overrides: Partial<RunOutcome> & Pick<RunOutcome, 'runId' | 'threadId'>,
): RunOutcome {
  return {
    status: 'succeeded',
    finishedAt: new Date(),
    error: null,
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    outputMessages: [],
    ...overrides,
  };
}

/** Creates (or touches) a thread through the ConversationStore, with a run and its input messages. */
export async function seedThread(
  store: ConversationStore,
  options: {
    threadId: string;
    ownerId?: string;
    runId?: string;
    agentName?: string | null;
    startedAt?: Date;
    messages?: Message[];
  },
): Promise<void> {
  await store.recordRunStarted(
    runStart({
      threadId: options.threadId,
      runId: options.runId ?? uniqueId('run'),
      ownerId: options.ownerId ?? 'owner-1',
      agentName: options.agentName ?? null,
      startedAt: options.startedAt ?? new Date(),
      inputMessages: options.messages ?? [],
    }),
  );
}

/** Makes the thread's lock expired, by the database's clock, without waiting for it. */
export async function expireLock(dataSource: DataSource, threadId: string): Promise<void> {
  await dataSource.query(
    `UPDATE thread_locks SET expires_at = now() - interval '1 second' WHERE thread_id = $1`,
    [threadId],
  );
}
