export {
  type RemoteCallContext,
  type RemoteEndpointDefinition,
  type RemoteHeaders,
  type RemoteHeadersFn,
  type RemoteRetryOptions,
} from './remote-endpoint-config.js';
export { RemoteEndpointsModule } from './remote-endpoints.module.js';
export { RemoteDiscovery } from './remote-discovery.js';
