/** Who is calling. Without configured authentication every caller is the anonymous identity. */
export interface Identity {
  id: string;
  anonymous: boolean;
}

export const ANONYMOUS_IDENTITY: Identity = Object.freeze({ id: 'anonymous', anonymous: true });

/**
 * The explicit per-request context passed first to service methods (Vendure's RequestContext):
 * who, which request, and the signal that fires when the caller goes away.
 */
export interface RequestContext {
  requestId: string;
  identity: Identity;
  /** Lower-cased inbound headers. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Aborted when the client disconnects (HTTP close, WebSocket complete/close). */
  signal: AbortSignal;
}
