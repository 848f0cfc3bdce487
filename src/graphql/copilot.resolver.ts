import { Inject } from '@nestjs/common';
import { Args, Context, Mutation, Query, Resolver } from '@nestjs/graphql';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CopilotRuntimeService } from '../runtime/copilot-runtime.service.js';
import { ThreadStateService } from '../runtime/thread-state.service.js';
import type { MutationResolvers, QueryResolvers } from './generated/resolvers-types.js';
import type { GraphQLContext } from './graphql-context.js';
import type { ResolverArgs, ResolverResult } from './resolver-types.js';
import { v1RunOptions } from '../runtime/run-request.js';
import { toV1RunRequest } from './v1/input-conversion.js';
import { AgentRegistry } from '../agents/agent-registry.js';
import { projectV1Response } from './v1/response-projector.js';

type GenerateArgs = ResolverArgs<MutationResolvers['generateCopilotResponse']>;
type LoadStateArgs = ResolverArgs<QueryResolvers['loadAgentState']>;

/** The v1 contract's queries and its mutation. Thin: one call into a service each. */
@Resolver()
export class CopilotResolver {
  constructor(
    private readonly runtime: CopilotRuntimeService,
    private readonly threads: ThreadStateService,
    private readonly agents: AgentRegistry,
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
  ) {}

  @Query('hello')
  hello(): ResolverResult<QueryResolvers['hello']> {
    return 'Hello World';
  }

  @Query('availableAgents')
  availableAgents(@Context() ctx: GraphQLContext): ResolverResult<QueryResolvers['availableAgents']> {
    // The built-in agent is the model behind a plain chat, not an agent a v1 client can pick.
    return this.agents.listAvailable({ identity: ctx.request.identity, properties: {} }).then((agents) => ({
      agents: agents
        .filter((agent) => !agent.builtIn)
        .map((agent) => ({ id: agent.id, name: agent.name, description: agent.description })),
    }));
  }

  @Query('loadAgentState')
  loadAgentState(
    @Args('data') data: LoadStateArgs['data'],
    @Context() ctx: GraphQLContext,
  ): ResolverResult<QueryResolvers['loadAgentState']> {
    return this.threads.loadAgentState(ctx.request, data.threadId, data.agentName);
  }

  @Mutation('generateCopilotResponse')
  generateCopilotResponse(
    @Args('data') data: GenerateArgs['data'],
    @Args('properties') properties: GenerateArgs['properties'],
    @Context() ctx: GraphQLContext,
  ): ResolverResult<MutationResolvers['generateCopilotResponse']> {
    const started = this.runtime.run(
      ctx.request,
      toV1RunRequest(data, properties),
      v1RunOptions(this.options.onClientDisconnect ?? 'abort'),
    );
    return started.then(projectV1Response);
  }
}
