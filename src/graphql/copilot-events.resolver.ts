import { Inject } from '@nestjs/common';
import { Args, Context, Resolver, Subscription } from '@nestjs/graphql';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CopilotRuntimeService } from '../runtime/copilot-runtime.service.js';
import { v1RunOptions } from '../runtime/run-request.js';
import type { SubscriptionCopilotEventsArgs } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import { projectCopilotEvents, type CopilotEventModel } from './v1/copilot-event-projector.js';
import { toV1RunRequest } from './v1/input-conversion.js';

/**
 * `copilotEvents`: one run as flat typed events, for graphql-ws subscribers. The same request as
 * the mutation (an `agentSession` runs that agent alone) and the same disconnect policy.
 */
@Resolver()
export class CopilotEventsResolver {
  constructor(
    private readonly runtime: CopilotRuntimeService,
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
  ) {}

  @Subscription('copilotEvents', { resolve: (event: CopilotEventModel) => event })
  async copilotEvents(
    @Args('data') data: SubscriptionCopilotEventsArgs['data'],
    @Args('properties') properties: SubscriptionCopilotEventsArgs['properties'],
    @Context() ctx: GraphQLContext,
  ): Promise<AsyncIterable<CopilotEventModel>> {
    const run = await this.runtime.run(
      ctx.request,
      toV1RunRequest(data, properties),
      v1RunOptions(this.options.onClientDisconnect ?? 'abort'),
    );
    return projectCopilotEvents(run);
  }
}
