import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Message } from '@ag-ui/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { RETRYABLE_ERROR, type RetryableClassifier, type RetryPolicy } from '../common/retry-policy.js';
import type { RequestContext } from '../common/request-context.js';
import { ConversationStore, type RunRecord } from '../ports/conversation-store.js';
import { RUNS_OPTIONS, type ResolvedRunsOptions } from '../runs/runs-options.js';
import { asUnavailable, DEFAULT_MAX_OUTAGE_MS, readThroughBlip, threadReadPolicy } from './database-blip.js';
import {
  InvalidThreadCursorError,
  ThreadCatalog,
  type ThreadChange,
  type ThreadPage,
  type ThreadSummary,
} from '../ports/thread-catalog.js';

const MAX_TITLE = 200;
const MAX_PAGE = 100;

/**
 * Threads for one caller: every lookup is scoped to the caller's identity. Reads retry through a
 * database blip (for at most `runs.maxOutageMs`); a change that meets one fails with
 * PERSISTENCE_UNAVAILABLE, unretried (it may have been applied).
 */
@Injectable()
export class ThreadsService {
  private readonly readPolicy: RetryPolicy;

  constructor(
    private readonly catalog: ThreadCatalog,
    private readonly store: ConversationStore,
    @Inject(RETRYABLE_ERROR) private readonly isRetryable: RetryableClassifier,
    @Optional() @Inject(RUNS_OPTIONS) runsOptions?: Pick<ResolvedRunsOptions, 'maxOutageMs'>,
  ) {
    this.readPolicy = threadReadPolicy(runsOptions?.maxOutageMs ?? DEFAULT_MAX_OUTAGE_MS, isRetryable);
  }

  /** `read`, retried through a database blip. */
  read<T>(read: () => Promise<T>): Promise<T> {
    return readThroughBlip(read, this.readPolicy);
  }

  list(
    ctx: RequestContext,
    first: number,
    after: string | undefined,
    agentName: string | null | undefined,
    options: { includeArchived?: boolean } = {},
  ): Promise<ThreadPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', `first must be between 1 and ${MAX_PAGE}; got ${first}.`);
    }
    // Archived threads are a v2 notion (its thread list hides them); GraphQL's list shows them all.
    const query = { first, after, agentName, includeArchived: options.includeArchived ?? true };
    return this.read(() => this.catalog.list(ctx.identity.id, query)).catch((error: unknown) => {
      if (error instanceof InvalidThreadCursorError) {
        throw new CopilotRuntimeError('BAD_USER_INPUT', `after: "${after}" is not a cursor this API issued.`);
      }
      throw error;
    });
  }

  async get(ctx: RequestContext, threadId: string): Promise<ThreadSummary> {
    const thread = await this.read(() => this.catalog.get(ctx.identity.id, threadId));
    if (!thread) throw threadNotFound(threadId);
    return thread;
  }

  messages(thread: ThreadSummary): Promise<Message[]> {
    return this.read(() => this.store.listMessages(thread.id));
  }

  async runs(ctx: RequestContext, thread: ThreadSummary): Promise<RunRecord[]> {
    return (await this.read(() => this.catalog.runs(ctx.identity.id, thread.id))) ?? [];
  }

  async rename(ctx: RequestContext, threadId: string, title: string): Promise<ThreadSummary> {
    const trimmed = title.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_TITLE) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', `title must be 1 to ${MAX_TITLE} characters after trimming.`);
    }
    return unwrap(await this.change(this.catalog.rename(ctx.identity.id, threadId, trimmed)), threadId);
  }

  /** Archives (or unarchives) the caller's thread; a thread of another identity is not found. */
  async setArchived(ctx: RequestContext, threadId: string, archived: boolean): Promise<ThreadSummary> {
    return unwrap(await this.change(this.catalog.setArchived(ctx.identity.id, threadId, archived)), threadId);
  }

  async delete(ctx: RequestContext, threadId: string): Promise<boolean> {
    return unwrap(await this.change(this.catalog.delete(ctx.identity.id, threadId)), threadId);
  }

  async fork(ctx: RequestContext, threadId: string, messageId: string): Promise<ThreadSummary> {
    return unwrap(await this.change(this.catalog.fork(ctx.identity.id, threadId, messageId, newId())), threadId);
  }

  /** A change is not retried (it may have been applied); a blip is reported as such. */
  private change<T>(pending: Promise<T>): Promise<T> {
    return pending.catch((error: unknown) => {
      throw asUnavailable(error, this.isRetryable);
    });
  }
}


function threadNotFound(threadId: string): CopilotRuntimeError {
  return new CopilotRuntimeError('THREAD_NOT_FOUND', `Thread "${threadId}" was not found.`);
}

function unwrap<T>(change: ThreadChange<T>, threadId: string): T {
  if (change.ok) return change.value;
  switch (change.reason) {
    case 'not_found':
      throw threadNotFound(threadId);
    case 'running':
      throw new CopilotRuntimeError('THREAD_BUSY', change.message);
    case 'message_not_found':
      throw new CopilotRuntimeError('BAD_USER_INPUT', change.message);
  }
}
