import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { GraphQLDateTimeISO, GraphQLJSON, GraphQLJSONObject } from 'graphql-scalars';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AuthModule } from '../auth/auth.module.js';
import { IdentityResolver } from '../auth/identity-resolver.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { RuntimeModule } from '../runtime/runtime.module.js';
import { CopilotEventsResolver } from './copilot-events.resolver.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { CopilotResolver } from './copilot.resolver.js';
import { RunsResolver } from './runs.resolver.js';
import { ThreadsResolver } from './threads.resolver.js';
import { schemaDirectory } from './schema-location.js';
import { formatGraphQLError } from './transport/error-formatter.js';
import { graphqlWsOptions } from './transport/graphql-ws.options.js';
import { graphQLContextFor } from './transport/http-context.js';
import { IdentityMiddleware } from './transport/identity.middleware.js';
import { incrementalDeliveryPlugin } from './transport/incremental-delivery.plugin.js';
import { incrementalExecutor } from './transport/incremental-execution.js';
import { RequestBodyMiddleware } from './transport/request-body.middleware.js';
import { RuntimeVersionMiddleware } from './transport/runtime-version.middleware.js';
import { SseTransportMiddleware } from './transport/sse-transport.middleware.js';
import { collectStreamsForPlainExecution } from './transport/stream-collection.js';

export const DEFAULT_PATH = '/api/copilotkit';

/** Headers the CopilotKit client sends that prove a request is not a CSRF "simple request". */
const CSRF_SAFE_HEADERS = ['x-copilotkit-runtime-client-gql-version', 'x-apollo-operation-name', 'apollo-require-preflight'];

function apolloConfig(options: CopilotRuntimeOptions, identities: IdentityResolver): ApolloDriverConfig {
  const path = options.path ?? DEFAULT_PATH;
  return {
    path,
    typePaths: [join(schemaDirectory(), '*.graphql')],
    resolvers: { DateTimeISO: GraphQLDateTimeISO, JSON: GraphQLJSON, JSONObject: GraphQLJSONObject },
    resolverValidationOptions: { requireResolversForResolveType: 'ignore' },
    context: ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => graphQLContextFor(req, res),
    plugins: [incrementalDeliveryPlugin()],
    formatError: formatGraphQLError,
    includeStacktraceInErrorResponses: false,
    csrfPrevention: { requestHeaders: CSRF_SAFE_HEADERS },
    legacyExperimentalExecuteIncrementally: incrementalExecutor(options.heartbeatMs ?? 15_000),
    transformSchema: collectStreamsForPlainExecution,
    introspection: true,
    playground: false,
    subscriptions: { 'graphql-ws': { path, ...graphqlWsOptions(identities) } as never },
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
    AuthModule,
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      imports: [AuthModule],
      inject: [RUNTIME_OPTIONS, IdentityResolver],
      useFactory: apolloConfig,
    }),
  ],
  providers: [CopilotResolver, CopilotEventsResolver, ThreadsResolver, RunsResolver],
})
export class GraphQLTransportModule implements NestModule {
  constructor(@Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions) {}

  configure(consumer: MiddlewareConsumer): void {
    // The body before the identity: the base path is shared with the AG-UI single-route envelope,
    // which RequestBodyMiddleware hands over (and which answers auth failures in its own shape).
    consumer
      .apply(RuntimeVersionMiddleware, RequestBodyMiddleware, IdentityMiddleware, SseTransportMiddleware)
      .forRoutes({ path: this.options.path ?? DEFAULT_PATH, method: RequestMethod.ALL });
  }
}
