import { Global, Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { DEFAULT_PATH } from '../graphql/graphql-transport.module.js';
import { SharedPathBodyHandler } from '../graphql/transport/request-body.middleware.js';
import { RuntimeVersionMiddleware } from '../graphql/transport/runtime-version.middleware.js';
import { RuntimeModule } from '../runtime/runtime.module.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { AgUiHandlers } from './agui-handlers.service.js';
import { AgUiRoutesMiddleware } from './agui-routes.middleware.js';
import { SingleRouteEnvelope } from './single-route-envelope.js';

/**
 * The v2 transport: AG-UI over SSE for `@copilotkit/react-core` 1.50+ and `@ag-ui/client`'s
 * HttpAgent, on the same base path as GraphQL. REST routes under the base path
 * (AgUiRoutesMiddleware) and the single-route envelope at the base path itself (handed over by
 * the GraphQL body middleware through SharedPathBodyHandler, hence global) reach the same
 * handlers, which start runs through CopilotRuntimeService and read threads through the runner.
 */
@Global()
@Module({
  imports: [RuntimeModule, ThreadsModule, AuthModule],
  providers: [AgUiHandlers, SingleRouteEnvelope, { provide: SharedPathBodyHandler, useExisting: SingleRouteEnvelope }],
  exports: [SharedPathBodyHandler],
})
export class AgUiTransportModule implements NestModule {
  constructor(@Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions) {}

  configure(consumer: MiddlewareConsumer): void {
    const base = (this.options.path ?? DEFAULT_PATH).replace(/\/+$/, '');
    consumer
      .apply(RuntimeVersionMiddleware, AgUiRoutesMiddleware)
      .forRoutes({ path: `${base}/{*path}`, method: RequestMethod.ALL });
  }
}
