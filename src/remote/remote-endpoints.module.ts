import { Module } from '@nestjs/common';
import { ActionsModule } from '../actions/actions.module.js';
import { CLOCK_PROVIDER } from '../common/clock.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { RemoteActionToolSource } from './remote-action-tool-source.js';
import { RemoteAgentSource } from './remote-agent-source.js';
import { RemoteDiscovery } from './remote-discovery.js';
import { resolveRemoteEndpoints } from './remote-endpoint-config.js';
import { REMOTE_ENDPOINTS } from './remote-endpoints.token.js';
import { RemoteHttpClient } from './remote-http-client.js';

/**
 * Remote CopilotKit endpoints (`remoteEndpoints` / REMOTE_ENDPOINTS): their actions as tools
 * (a `@CopilotToolSource()`), their agents as an agent source of the AgentRegistry. Without
 * endpoints both offer nothing and call nothing.
 */
@Module({
  imports: [ActionsModule],
  providers: [
    {
      provide: REMOTE_ENDPOINTS,
      useFactory: (options: CopilotRuntimeOptions) => resolveRemoteEndpoints(options.remoteEndpoints),
      inject: [RUNTIME_OPTIONS],
    },
    CLOCK_PROVIDER,
    RemoteHttpClient,
    RemoteDiscovery,
    RemoteActionToolSource,
    RemoteAgentSource,
  ],
  exports: [RemoteDiscovery, RemoteHttpClient],
})
export class RemoteEndpointsModule {}
