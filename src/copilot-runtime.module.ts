import { Global, Module, type DynamicModule, type ModuleMetadata, type Provider } from '@nestjs/common';
import { ActionsModule } from './actions/actions.module.js';
import { AgUiTransportModule } from './agui/agui-transport.module.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from './config/runtime-options.js';
import { HealthModule } from './health/health.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { GraphQLTransportModule } from './graphql/graphql-transport.module.js';
import { EdgesModule } from './edges/edges.module.js';
import { HttpEdgeModule } from './http/http-edge.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { GuardrailsModule } from './guardrails/guardrails.module.js';
import { MiddlewareModule } from './middleware/middleware.module.js';
import { LimitsModule } from './limits/limits.module.js';
import { PersistenceModule } from './persistence/persistence.module.js';
import { RemoteEndpointsModule } from './remote/remote-endpoints.module.js';
import { RunsModule } from './runs/runs.module.js';
import { RuntimeModule } from './runtime/runtime.module.js';
import { ThreadsModule } from './threads/threads.module.js';

export interface CopilotRuntimeAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: any[];
  useFactory: (...args: any[]) => CopilotRuntimeOptions | Promise<CopilotRuntimeOptions>;
}

/** Makes the runtime's options visible to every module of the runtime. */
@Global()
@Module({})
class RuntimeOptionsModule {
  static register(provider: Provider, imports: ModuleMetadata['imports'] = []): DynamicModule {
    return { module: RuntimeOptionsModule, imports, providers: [provider], exports: [RUNTIME_OPTIONS] };
  }
}

/**
 * The CopilotKit runtime as a Nest module: import it into any Nest application.
 *
 * ```ts
 * @Module({ imports: [CopilotRuntimeModule.forRoot({ llm: { openai: { apiKey } } })] })
 * export class AppModule {}
 * ```
 */
@Module({})
export class CopilotRuntimeModule {
  static forRoot(options: CopilotRuntimeOptions = {}): DynamicModule {
    return CopilotRuntimeModule.assemble(RuntimeOptionsModule.register({ provide: RUNTIME_OPTIONS, useValue: options }));
  }

  static forRootAsync(options: CopilotRuntimeAsyncOptions): DynamicModule {
    return CopilotRuntimeModule.assemble(
      RuntimeOptionsModule.register(
        { provide: RUNTIME_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        options.imports,
      ),
    );
  }

  private static assemble(optionsModule: DynamicModule): DynamicModule {
    return {
      module: CopilotRuntimeModule,
      imports: [
        // First: its shutdown hook (the graceful drain) must run before any other module closes.
        HealthModule,
        optionsModule,
        ObservabilityModule,
        PersistenceModule.forRuntimeOptions(),
        RunsModule.forRuntimeOptions(),
        ActionsModule,
        RuntimeModule,
        McpModule,
        // Run policy stages: middleware, then guardrails (RUN_POLICY_ORDER).
        MiddlewareModule,
        GuardrailsModule,
        // Remote CopilotKit endpoints
        RemoteEndpointsModule,
        ThreadsModule,
        EdgesModule,
        HttpEdgeModule,
        GraphQLTransportModule,
        AgUiTransportModule,
        // Per-caller limits and the instance's cap on concurrent runs (a run policy stage).
        LimitsModule,
      ],
      exports: [RuntimeModule, ActionsModule],
    };
  }
}
