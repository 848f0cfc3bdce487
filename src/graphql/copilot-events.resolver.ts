import { Args, Context, Resolver, Subscription } from '@nestjs/graphql';
import { CopilotRuntimeService } from '../runtime/copilot-runtime.service.js';
import type { SubscriptionCopilotEventsArgs } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import { projectCopilotEvents, type CopilotEventModel } from './v1/copilot-event-projector.js';
import { toRunRequest } from './v1/input-conversion.js';

/** `copilotEvents`: one run as flat typed events, for graphql-ws subscribers. */
@Resolver()
export class CopilotEventsResolver {
  constructor(private readonly runtime: CopilotRuntimeService) {}

  @Subscription('copilotEvents', { resolve: (event: CopilotEventModel) => event })
  async copilotEvents(
    @Args('data') data: SubscriptionCopilotEventsArgs['data'],
    @Args('properties') properties: SubscriptionCopilotEventsArgs['properties'],
    @Context() ctx: GraphQLContext,
  ): Promise<AsyncIterable<CopilotEventModel>> {
    const run = await this.runtime.startRun(ctx.request, toRunRequest(data, properties));
    return projectCopilotEvents(run);
  }
}
