import { Args, Context, Mutation, Resolver, Subscription } from '@nestjs/graphql';
import { CopilotRuntimeError } from '../common/errors.js';
import { RunsService, type StopTarget } from '../runs/runs.service.js';
import type { MutationResolvers, SubscriptionThreadEventsArgs } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import type { ResolverArgs, ResolverResult } from './resolver-types.js';
import { projectCopilotEvents, type CopilotEventModel } from './v1/copilot-event-projector.js';

type StopArgs = ResolverArgs<MutationResolvers['stopRun']>;

/**
 * Stopping runs and joining a thread's event stream, on v1's wire: RunsService decides (and
 * checks ownership), this maps. Any instance sharing the database can serve both.
 */
@Resolver()
export class RunsResolver {
  constructor(private readonly runs: RunsService) {}

  @Mutation('stopRun')
  async stopRun(
    @Args('runId') runId: StopArgs['runId'],
    @Args('threadId') threadId: StopArgs['threadId'],
    @Context() ctx: GraphQLContext,
  ): Promise<Awaited<ResolverResult<MutationResolvers['stopRun']>>> {
    if (!runId === !threadId) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', 'stopRun needs exactly one of runId and threadId.');
    }
    const target: StopTarget = runId ? { runId } : { threadId: threadId! };
    // Unknown runs and threads (and other identities') are the service's RUN_NOT_FOUND / THREAD_NOT_FOUND errors.
    const result = await this.runs.stop(ctx.request, target);
    if (result.stopped) return { stopped: true, threadId: result.threadId, runId: result.runId };
    return { stopped: false, threadId: result.threadId, runId: result.runId, reason: 'NOT_RUNNING', message: result.message };
  }

  @Subscription('threadEvents', { resolve: (event: CopilotEventModel) => event })
  async threadEvents(
    @Args('threadId') threadId: SubscriptionThreadEventsArgs['threadId'],
    @Args('afterSequence') afterSequence: SubscriptionThreadEventsArgs['afterSequence'],
    @Context() ctx: GraphQLContext,
  ): Promise<AsyncIterable<CopilotEventModel>> {
    const events = await this.runs.follow(ctx.request, threadId, afterSequence);
    return projectCopilotEvents({ threadId, events });
  }
}
