import { Args, Context, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { ThreadsService } from '../threads/threads.service.js';
import type { ThreadSummary } from '../ports/thread-catalog.js';
import type { MutationResolvers, QueryResolvers, ThreadResolvers } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import type { ResolverArgs, ResolverResult } from './resolver-types.js';

type ThreadsArgs = ResolverArgs<QueryResolvers['threads']>;

/** Threads as a first-class API. Thin: validation and ownership live in ThreadsService. */
@Resolver('Thread')
export class ThreadsResolver {
  constructor(private readonly threads: ThreadsService) {}

  @Query('threads')
  list(
    @Args('first') first: ThreadsArgs['first'],
    @Args('after') after: ThreadsArgs['after'],
    @Args('agentName') agentName: ThreadsArgs['agentName'],
    @Context() ctx: GraphQLContext,
  ): ResolverResult<QueryResolvers['threads']> {
    return this.threads
      .list(ctx.request, first ?? 20, after ?? undefined, agentName ?? undefined)
      .then((page) => ({ nodes: page.threads, nextCursor: page.nextCursor }));
  }

  @Query('thread')
  thread(@Args('id') id: string, @Context() ctx: GraphQLContext): ResolverResult<QueryResolvers['thread']> {
    return this.threads.get(ctx.request, id);
  }

  @ResolveField('messages')
  messages(@Parent() thread: ThreadSummary): ResolverResult<ThreadResolvers['messages']> {
    return this.threads.messages(thread);
  }

  @ResolveField('runs')
  runs(@Parent() thread: ThreadSummary, @Context() ctx: GraphQLContext): ResolverResult<ThreadResolvers['runs']> {
    return this.threads.runs(ctx.request, thread);
  }

  @Mutation('renameThread')
  rename(
    @Args('id') id: string,
    @Args('title') title: string,
    @Context() ctx: GraphQLContext,
  ): ResolverResult<MutationResolvers['renameThread']> {
    return this.threads.rename(ctx.request, id, title);
  }

  @Mutation('deleteThread')
  delete(@Args('id') id: string, @Context() ctx: GraphQLContext): ResolverResult<MutationResolvers['deleteThread']> {
    return this.threads.delete(ctx.request, id);
  }

  @Mutation('forkThread')
  fork(
    @Args('id') id: string,
    @Args('messageId') messageId: string,
    @Context() ctx: GraphQLContext,
  ): ResolverResult<MutationResolvers['forkThread']> {
    return this.threads.fork(ctx.request, id, messageId);
  }
}
