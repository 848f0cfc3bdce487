import { Inject } from '@nestjs/common';
import { Args, Context, Mutation, Resolver, Subscription } from '@nestjs/graphql';
import { CopilotRuntimeError } from '../common/errors.js';
import { ConversationStore } from '../persistence/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner } from '../runs/agent-runner.js';
import { EventLogStore } from '../ports/run-stores.js';
import { ThreadsService } from '../threads/threads.service.js';
import type { MutationResolvers, SubscriptionThreadEventsArgs } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import type { ResolverArgs, ResolverResult } from './resolver-types.js';
import { projectCopilotEvents, type CopilotEventModel } from './v1/copilot-event-projector.js';

type StopArgs = ResolverArgs<MutationResolvers['stopRun']>;

/** Stopping runs and joining a thread's event stream. Any instance sharing the database can serve both. */
@Resolver()
export class RunsResolver {
  constructor(
    @Inject(AGENT_RUNNER) private readonly runner: AgentRunner,
    private readonly threads: ThreadsService,
    private readonly store: ConversationStore,
    private readonly log: EventLogStore,
  ) {}

  @Mutation('stopRun')
  async stopRun(
    @Args('runId') runId: StopArgs['runId'],
    @Args('threadId') threadId: StopArgs['threadId'],
    @Context() ctx: GraphQLContext,
  ): Promise<Awaited<ResolverResult<MutationResolvers['stopRun']>>> {
    if (!runId === !threadId) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', 'stopRun needs exactly one of runId and threadId.');
    }
    let target: { runId?: string; threadId?: string };
    let runThreadId = threadId ?? null;
    if (runId) {
      const run = await this.threads.read(() => this.store.findRun(runId));
      // Another identity's run is reported exactly like a missing one.
      const owned = run && (await this.threads.get(ctx.request, run.threadId).then(() => true, notFoundOnly));
      if (!run || !owned) throw new CopilotRuntimeError('RUN_NOT_FOUND', `Run "${runId}" was not found.`);
      target = { runId };
      runThreadId = run.threadId;
    } else {
      await this.threads.get(ctx.request, threadId!);
      target = { threadId: threadId! };
    }
    const outcome = await this.runner.stop(target);
    if (outcome.stopped) return { stopped: true, threadId: outcome.threadId, runId: outcome.runId };
    if (outcome.reason === 'not_found') {
      throw new CopilotRuntimeError('RUN_NOT_FOUND', outcome.message);
    }
    return { stopped: false, threadId: runThreadId, runId: runId ?? null, reason: 'NOT_RUNNING', message: outcome.message };
  }

  @Subscription('threadEvents', { resolve: (event: CopilotEventModel) => event })
  async threadEvents(
    @Args('threadId') threadId: SubscriptionThreadEventsArgs['threadId'],
    @Args('afterSequence') afterSequence: SubscriptionThreadEventsArgs['afterSequence'],
    @Context() ctx: GraphQLContext,
  ): Promise<AsyncIterable<CopilotEventModel>> {
    await this.threads.get(ctx.request, threadId);
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
    const events = this.runner.connect(threadId, after, ctx.request.signal);
    return projectCopilotEvents({ threadId, events });
  }
}

/** Only "not found" means "not yours": any other failure (the database down) is reported as itself. */
function notFoundOnly(error: unknown): false {
  if (error instanceof CopilotRuntimeError && error.code === 'THREAD_NOT_FOUND') return false;
  throw error;
}
