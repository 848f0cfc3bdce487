import type { Message } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  ConversationStore,
  type RunOutcome,
  type RunRecord,
  type RunStart,
  type ThreadRecord,
} from '../ports/conversation-store.js';
import { PermanentWriteError } from './database-errors.js';
import { MessageEntity, RunEntity, ThreadEntity } from './entities/index.js';
import { toRunRecord } from './entities/run.entity.js';
import { chunkForInsert, valuesPlaceholders } from './multi-row-insert.js';

/*
 * Writes are idempotent so that a retry after an ambiguous failure (the connection dropped while
 * COMMIT was in flight) neither fails nor duplicates: threads are upserted, runs and messages are
 * inserted with ON CONFLICT DO NOTHING.
 */

// Keeps the first owner; ownership checks belong to the caller. GREATEST: writes may arrive late.
const UPSERT_THREAD = `
  INSERT INTO threads (id, owner_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
  ON CONFLICT (id) DO UPDATE SET updated_at = GREATEST(threads.updated_at, EXCLUDED.updated_at)`;

const INSERT_RUN = `
  INSERT INTO runs (id, thread_id, status, agent_name, model, started_at, tools, context)
  VALUES ($1, $2, 'running', $3, $4, $5, $6::jsonb, $7::jsonb)
  ON CONFLICT (id) DO NOTHING`;

const FINISH_RUN = `
  UPDATE runs SET status = $2, finished_at = $3, error = $4::jsonb, usage = $5::jsonb
  WHERE id = $1 AND thread_id = $6`;

const TOUCH_THREAD = `UPDATE threads SET updated_at = GREATEST(updated_at, $2) WHERE id = $1`;

const MESSAGE_COLUMNS = 'thread_id, message_id, run_id, role, payload, created_at';
const MESSAGE_CASTS = ['', '', '', '', '::jsonb', ''];

@Injectable()
export class PostgresConversationStore extends ConversationStore {
  constructor(private readonly dataSource: DataSource) {
    super();
  }

  async recordRunStarted(run: RunStart): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(UPSERT_THREAD, [run.threadId, run.ownerId, run.startedAt]);
      await insertMessages(manager, run.threadId, run.runId, run.inputMessages, run.startedAt);
      await manager.query(INSERT_RUN, [
        run.runId,
        run.threadId,
        run.agentName,
        run.model,
        run.startedAt,
        runInputJson(run.runInput?.tools),
        runInputJson(run.runInput?.context),
      ]);
    });
  }

  async recordRunFinished(outcome: RunOutcome): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const [, updatedRows] = (await manager.query(FINISH_RUN, [
        outcome.runId,
        outcome.status,
        outcome.finishedAt,
        toJson(outcome.error),
        toJson(outcome.usage),
        outcome.threadId,
      ])) as [unknown, number];
      if (updatedRows === 0) {
        throw new PermanentWriteError(
          `Run ${outcome.runId} of thread ${outcome.threadId} was never recorded as started`,
        );
      }
      await insertMessages(
        manager,
        outcome.threadId,
        outcome.runId,
        outcome.outputMessages,
        outcome.finishedAt,
      );
      await manager.query(TOUCH_THREAD, [outcome.threadId, outcome.finishedAt]);
    });
  }

  async findThread(threadId: string): Promise<ThreadRecord | null> {
    const thread = await this.dataSource.getRepository(ThreadEntity).findOneBy({ id: threadId });
    return (
      thread && {
        id: thread.id,
        ownerId: thread.ownerId,
        createdAt: thread.createdAt,
        updatedAt: thread.updatedAt,
      }
    );
  }

  async listMessages(threadId: string): Promise<Message[]> {
    const rows = await this.dataSource.getRepository(MessageEntity).find({
      select: { seq: true, payload: true },
      where: { threadId },
      order: { seq: 'ASC' },
    });
    return rows.map((row) => row.payload);
  }

  async findRun(runId: string): Promise<RunRecord | null> {
    const run = await this.dataSource.getRepository(RunEntity).findOneBy({ id: runId });
    return run && toRunRecord(run);
  }
}

/** In the given order (it becomes `seq` order), skipping ids the thread already has. */
async function insertMessages(
  manager: EntityManager,
  threadId: string,
  runId: string,
  messages: readonly Message[],
  createdAt: Date,
): Promise<void> {
  for (const chunk of chunkForInsert(messages, MESSAGE_CASTS.length)) {
    const parameters = chunk.flatMap((message) => [
      threadId,
      message.id,
      runId,
      message.role,
      JSON.stringify(message),
      createdAt,
    ]);
    await manager.query(
      `INSERT INTO messages (${MESSAGE_COLUMNS})
       VALUES ${valuesPlaceholders(chunk.length, MESSAGE_CASTS)}
       ON CONFLICT (thread_id, message_id) DO NOTHING`,
      parameters,
    );
  }
}

/** pg would turn a JS array into a PostgreSQL array; jsonb wants JSON text. */
function toJson(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}

/** A run's tools or context list as jsonb text, null when not recorded. */
export function runInputJson(list: unknown[] | undefined): string | null {
  return list === undefined ? null : JSON.stringify(list);
}
