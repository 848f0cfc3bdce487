/** DI token of the checked remote endpoints (RemoteEndpoint[], from `remoteEndpoints`). */
export const REMOTE_ENDPOINTS = Symbol('REMOTE_ENDPOINTS');
