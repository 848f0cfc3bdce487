import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { GraphQLDateTimeISO, GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { BasePath } from '../http/base-path.js';
import { HttpEdgeModule } from '../http/http-edge.module.js';
import { RequestContexts } from '../http/request-contexts.js';
import { RuntimeModule } from '../runtime/runtime.module.js';
import { CopilotEventsResolver } from './copilot-events.resolver.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { CopilotResolver } from './copilot.resolver.js';
import { RunsResolver } from './runs.resolver.js';
import { ThreadsResolver } from './threads.resolver.js';
import { schemaDirectory } from './schema-location.js';
import { formatGraphQLError } from './transport/error-formatter.js';
import { errorLogContextPlugin } from './transport/error-log-context.js';
import { GraphQLLimits } from './limits/graphql-limits.js';
import { GraphQLLimitsModule } from './limits/graphql-limits.module.js';
import { GraphQLWsServer } from './transport/graphql-ws.server.js';
import { graphQLContextFor } from './transport/http-context.js';
import { IdentityMiddleware } from './transport/identity.middleware.js';
import { incrementalDeliveryPlugin } from './transport/incremental-delivery.plugin.js';
import { incrementalExecutor } from './transport/incremental-execution.js';
import { RequestBodyMiddleware } from './transport/request-body.middleware.js';
import { SseTransportMiddleware } from './transport/sse-transport.middleware.js';
import { collectStreamsForPlainExecution } from './transport/stream-collection.js';

/** Headers the CopilotKit client sends that prove a request is not a CSRF "simple request". */
const CSRF_SAFE_HEADERS = ['x-copilotkit-runtime-client-gql-version', 'x-apollo-operation-name', 'apollo-require-preflight'];

function apolloConfig(options: CopilotRuntimeOptions, base: BasePath, contexts: RequestContexts, limits: GraphQLLimits): ApolloDriverConfig {
  const path = base.path;
  return {
    path,
    typePaths: [join(schemaDirectory(), '*.graphql')],
    resolvers: { DateTimeISO: GraphQLDateTimeISO, JSON: GraphQLJSON, JSONObject: GraphQLJSONObject },
    resolverValidationOptions: { requireResolversForResolveType: 'ignore' },
    context: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => graphQLContextFor(contexts, req, res),
    // Apollo installs its cache-control plugin by default, which wraps every field resolver to
    // compute cache hints; nothing here is cacheable (no @cacheControl, POST mutations and streams).
    plugins: [incrementalDeliveryPlugin(), errorLogContextPlugin(), ApolloServerPluginCacheControlDisabled()],
    formatError: formatGraphQLError,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: { requestHeaders: CSRF_SAFE_HEADERS },
    legacyExperimentalExecuteIncrementally: incrementalExecutor(options.heartbeatMs ?? 15_000),
    transformSchema: collectStreamsForPlainExecution,
    // Document limits (graphql/limits), introspection per GRAPHQL_INTROSPECTION; graphql-ws is
    // served by GraphQLWsServer with the same limits, not by Nest's subscription service.
    validationRules: limits.validationRules,
    introspection: limits.limits.introspection,
    allowBatchedHttpRequests: limits.limits.maxBatchSize > 0,
    hideSchemaDetailsFromClientErrors: true,
    playground: false,
  } as ApolloDriverConfig;
}

/**
 * The GraphQL transport: Apollo on Express with incremental delivery (multipart), SSE framing,
 * graphql-ws, the v1 schema from schema/, and the error boundary.
 */
@Module({
  imports: [
    RuntimeModule,
    ThreadsModule,
    HttpEdgeModule,
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      imports: [HttpEdgeModule, GraphQLLimitsModule],
      inject: [RUNTIME_OPTIONS, BasePath, RequestContexts, GraphQLLimits],
      useFactory: apolloConfig,
    }),
    GraphQLLimitsModule,
  ],
  providers: [CopilotResolver, CopilotEventsResolver, ThreadsResolver, RunsResolver, GraphQLWsServer],
})
export class GraphQLTransportModule implements NestModule {
  constructor(private readonly base: BasePath) {}

  configure(consumer: MiddlewareConsumer): void {
    // After the edge's dispatch (HttpEdgeModule), which sends the AG-UI requests on the base path
    // elsewhere: what reaches these is GraphQL's. The body before the identity, so a malformed
    // request is answered as such whatever its credentials (as before the edge existed).
    consumer
      .apply(RequestBodyMiddleware, IdentityMiddleware, SseTransportMiddleware)
      .forRoutes({ path: this.base.path, method: RequestMethod.ALL });
  }
}
