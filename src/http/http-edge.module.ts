import { Global, Inject, Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { CorsMiddleware } from '../edges/cors.middleware.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { BasePath } from './base-path.js';
import { BasePathDispatchMiddleware } from './base-path-dispatch.js';
import { JsonBodyReader } from './json-body.js';
import { RequestContexts } from './request-contexts.js';
import { RuntimeVersionMiddleware } from './runtime-version.middleware.js';

/**
 * The HTTP edge both transports share: the base path, body reading with the limit, identity ->
 * RequestContext (HTTP and WebSocket), the version header, and the dispatch between GraphQL and
 * AG-UI (BasePathDispatchMiddleware). The SSE writer (sse-writer.ts) and the heartbeat are plain
 * classes and functions. graphql/ and agui/ depend on this module, never on each other.
 *
 * Global because Nest mounts the middleware of global modules first: the version header and the
 * dispatch must run before GraphQL's own middleware on the base path.
 */
@Global()
@Module({
  imports: [AuthModule],
  providers: [
    { provide: BasePath, inject: [RUNTIME_OPTIONS], useFactory: (options: CopilotRuntimeOptions) => new BasePath(options) },
    {
      provide: JsonBodyReader,
      inject: [RUNTIME_OPTIONS],
      useFactory: (options: CopilotRuntimeOptions) => new JsonBodyReader(options.bodyLimit ?? '2mb'),
    },
    RequestContexts,
  ],
  exports: [BasePath, JsonBodyReader, RequestContexts],
})
export class HttpEdgeModule implements NestModule {
  constructor(@Inject(BasePath) private readonly base: BasePath) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(CorsMiddleware, RuntimeVersionMiddleware, BasePathDispatchMiddleware)
      .forRoutes(
        { path: this.base.path, method: RequestMethod.ALL },
        { path: this.base.subPathPattern, method: RequestMethod.ALL },
      );
  }
}
