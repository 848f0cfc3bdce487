import type { Message } from '@ag-ui/core';
import { Inject, Injectable } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import type { RequestContext } from '../common/request-context.js';
import { ConversationStore, type RunInput } from '../ports/conversation-store.js';
import type { ThreadSummary } from '../ports/thread-catalog.js';
import { ThreadsService } from '../threads/threads.service.js';
import { AGENT_RUNNER, type AgentRunner } from './agent-runner.js';
import type { LoggedEvent } from './logged-event.js';
import { EventLogStore } from '../ports/run-stores.js';

/** Which run to stop: a run by its id, or a thread's active run (optionally only if it is `runId`). */
export type StopTarget = { runId: string; threadId?: undefined } | { threadId: string; runId?: string };

/**
 * What a stop did. A run or thread the caller cannot see is not an outcome but an error
 * (THREAD_NOT_FOUND or RUN_NOT_FOUND), as everywhere else.
 */
export type StopResult =
  | { stopped: true; threadId: string; runId: string }
  | { stopped: false; threadId: string; runId: string | null; message: string };

/** What a client needs to rebuild a thread: its stored history, then its live run, if any. */
export interface ThreadHistory {
  threadId: string;
  /** The thread's event log from the start, then its live tail (AgentRunner.connect). */
  events: AsyncIterable<LoggedEvent>;
  /** Runs that had ended when the history was taken: their events are history. */
  endedRuns: ReadonlySet<string>;
  /**
   * The stored messages, read BEFORE `endedRuns`: a run still going then cannot have stored its
   * outputs yet (they are stored with its end).
   */
  storedMessages: Message[];
  /** The tools and context each recorded run was given (runs recorded without them are absent). */
  runInputs: ReadonlyMap<string, RunInput>;
}

/**
 * The run use cases both protocols offer (stop, follow a thread, its history), each behind the
 * same ownership rule: another identity's thread or run is reported exactly like a missing one,
 * and any other failure (the database down) as itself. Transports only map the results to their
 * wire formats.
 */
@Injectable()
export class RunsService {
  constructor(
    @Inject(AGENT_RUNNER) private readonly runner: AgentRunner,
    private readonly threads: ThreadsService,
    private readonly store: ConversationStore,
    private readonly log: EventLogStore,
  ) {}

  /**
   * Stops a run. @throws RUN_NOT_FOUND for a run the caller cannot see (or that the runner does
   * not know), THREAD_NOT_FOUND for a thread the caller cannot see.
   */
  async stop(ctx: RequestContext, target: StopTarget): Promise<StopResult> {
    const threadId = await this.threadOfTarget(ctx, target);
    // The runner is given the target as asked: by run id alone, it finds the run wherever it is.
    const outcome = await this.runner.stop(target);
    if (outcome.stopped) return { stopped: true, threadId: outcome.threadId, runId: outcome.runId };
    if (outcome.reason === 'not_found') throw new CopilotRuntimeError('RUN_NOT_FOUND', outcome.message);
    return { stopped: false, threadId, runId: target.runId ?? null, message: outcome.message };
  }

  /**
   * The thread's events after `afterSequence` (0: from the start), then its live run, until
   * `ctx.signal` fires. @throws THREAD_NOT_FOUND for a thread the caller cannot see, BAD_USER_INPUT
   * for a sequence that is not a whole number or lies beyond the thread's last event.
   */
  async follow(ctx: RequestContext, threadId: string, afterSequence?: number | null): Promise<AsyncIterable<LoggedEvent>> {
    await this.ownedThread(ctx, threadId);
    const after = afterSequence ?? 0;
    if (!Number.isInteger(after) || after < 0) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', `afterSequence must be a whole number >= 0; got ${after}.`);
    }
    const last = await this.threads.read(() => this.log.lastSequence(threadId));
    if (after > last) {
      throw new CopilotRuntimeError(
        'BAD_USER_INPUT',
        `afterSequence ${after} is beyond the last event of thread "${threadId}" (${last}).`,
      );
    }
    return this.runner.connect(threadId, after, ctx.signal);
  }

  /**
   * The thread's history then its live run, until `ctx.signal` fires; null for a thread the
   * caller cannot see (unknown, or another identity's: the two look the same).
   */
  async history(ctx: RequestContext, threadId: string): Promise<ThreadHistory | null> {
    const thread = await this.visibleThread(ctx, threadId);
    if (!thread) return null;
    // Messages before runs: see ThreadHistory.storedMessages.
    const storedMessages = await this.threads.messages(thread);
    const runs = await this.threads.runs(ctx, thread);
    const endedRuns = new Set(runs.filter((run) => run.status !== 'running').map((run) => run.id));
    const runInputs = new Map(runs.flatMap((run) => (run.input ? [[run.id, run.input] as const] : [])));
    return { threadId, events: this.runner.connect(threadId, 0, ctx.signal), endedRuns, storedMessages, runInputs };
  }

  /** The thread a stop names, if the caller may see it. */
  private async threadOfTarget(ctx: RequestContext, target: StopTarget): Promise<string> {
    if (target.threadId === undefined) return this.threadOfRun(ctx, target.runId);
    await this.ownedThread(ctx, target.threadId);
    return target.threadId;
  }

  /** The thread of a run the caller may see. @throws RUN_NOT_FOUND otherwise. */
  private async threadOfRun(ctx: RequestContext, runId: string): Promise<string> {
    const run = await this.threads.read(() => this.store.findRun(runId));
    if (!run || !(await this.visibleThread(ctx, run.threadId))) {
      throw new CopilotRuntimeError('RUN_NOT_FOUND', `Run "${runId}" was not found.`);
    }
    return run.threadId;
  }

  /** The one ownership check. @throws THREAD_NOT_FOUND for a missing thread and for another identity's. */
  private ownedThread(ctx: RequestContext, threadId: string): Promise<ThreadSummary> {
    return this.threads.get(ctx, threadId);
  }

  /** The thread if the caller may see it, else null; failures other than "not found" are thrown. */
  private visibleThread(ctx: RequestContext, threadId: string): Promise<ThreadSummary | null> {
    return this.ownedThread(ctx, threadId).catch(notFoundAsNull);
  }
}

function notFoundAsNull(error: unknown): null {
  if (error instanceof CopilotRuntimeError && error.code === 'THREAD_NOT_FOUND') return null;
  throw error;
}
