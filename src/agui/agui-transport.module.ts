import { Global, Module } from '@nestjs/common';
import { AgUiEndpoint } from '../http/base-path-dispatch.js';
import { HttpEdgeModule } from '../http/http-edge.module.js';
import { RuntimeModule } from '../runtime/runtime.module.js';
import { ThreadsModule } from '../threads/threads.module.js';
import { AgUiHandlers } from './agui-handlers.service.js';
import { AgUiHttpEndpoint } from './agui-endpoint.js';
import { SingleRouteEnvelope } from './single-route-envelope.js';
import { ThreadEndpoints } from './thread-endpoints.js';
import { TranscribeEndpoint } from './transcribe-endpoint.js';
import { TranscriptionModule } from '../transcription/transcription.module.js';

/**
 * The v2 transport: AG-UI over SSE for `@copilotkit/react-core` 1.50+ and `@ag-ui/client`'s
 * HttpAgent, on the same base path as GraphQL. The edge's dispatch (HttpEdgeModule) hands it the
 * REST routes under the base path and the single-route envelope at the base path itself, through
 * AgUiEndpoint (hence global: the edge cannot import this module); both reach the same handlers,
 * which start runs through CopilotRuntimeService and read threads through the runner.
 */
@Global()
@Module({
  imports: [RuntimeModule, ThreadsModule, HttpEdgeModule, TranscriptionModule],
  providers: [AgUiHandlers, ThreadEndpoints, TranscribeEndpoint, SingleRouteEnvelope, AgUiHttpEndpoint, { provide: AgUiEndpoint, useExisting: AgUiHttpEndpoint }],
  exports: [AgUiEndpoint],
})
export class AgUiTransportModule {}
