import { Injectable, Logger } from '@nestjs/common';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { AUTHENTICATION_MESSAGES, AuthenticationFailure } from '../auth/authentication-failure.js';
import { IdentityResolver } from '../auth/identity-resolver.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { ANONYMOUS_IDENTITY, type Identity, type RequestContext } from '../common/request-context.js';
import { requestLogContext } from '../observability/logging/log-context.js';

type IdentifiedRequest = IncomingMessage & { copilotIdentity?: Identity };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Where a caller came from, for the security log. */
export interface CallerOrigin {
  transport: 'http' | 'graphql-ws';
  /** The socket's peer address (a proxy's, behind one: `forwardedFor` then says who it claims to forward). */
  address?: string;
  forwardedFor?: string;
}

/**
 * The one place where a caller becomes a RequestContext, for every way in: HTTP requests of
 * both protocols (GraphQL, AG-UI) and graphql-ws connections. All three resolve the identity with
 * the configured IdentityResolver (JWT, custom or anonymous: see auth/) through `identify`, so
 * the same credentials are the same identity whichever way they arrive, and a thread belongs to
 * its creator across protocols. Each transport answers a failure in its own shape.
 */
@Injectable()
export class RequestContexts {
  private readonly security = new Logger('Security');

  constructor(private readonly identities: IdentityResolver) {}

  /**
   * The identity these headers prove. A refusal is logged as a security event (the caller's
   * address, the transport, the cause, an errorId) and thrown as a CopilotRuntimeError
   * AUTHENTICATION_ERROR carrying that errorId, with one of three messages whatever the cause
   * (missing, rejected, expired: see AuthenticationFailure); a CopilotRuntimeError of a custom
   * resolver keeps its code and message. Anything else a resolver throws is "rejected".
   */
  async identify(headers: IncomingHttpHeaders, origin: CallerOrigin = { transport: 'http' }): Promise<Identity> {
    try {
      return await this.identities.resolve(headers);
    } catch (error) {
      const errorId = newId('err');
      const failure =
        error instanceof CopilotRuntimeError
          ? { kind: 'custom', detail: `${error.code}: ${error.message}`, code: error.code, message: error.message }
          : error instanceof AuthenticationFailure
            ? { kind: error.kind, detail: error.detail, code: 'AUTHENTICATION_ERROR' as const, message: AUTHENTICATION_MESSAGES[error.kind] }
            : {
                kind: 'rejected',
                detail: `resolver failed: ${error instanceof Error ? error.message : String(error)}`,
                code: 'AUTHENTICATION_ERROR' as const,
                message: AUTHENTICATION_MESSAGES.rejected,
              };
      this.security.warn({
        event: failure.code === 'AUTHENTICATION_ERROR' ? 'authentication_failed' : 'authentication_unavailable',
        errorId,
        transport: origin.transport,
        address: origin.address ?? null,
        forwardedFor: origin.forwardedFor ?? null,
        reason: failure.kind,
        detail: failure.detail,
      });
      const retryAfter = error instanceof CopilotRuntimeError ? error.retryAfter : undefined;
      throw new CopilotRuntimeError(failure.code, failure.message, { cause: error, errorId, retryAfter });
    }
  }

  /** An HTTP request's identity: resolved once per request, whichever middleware or handler asks first. */
  async identifyRequest(req: IncomingMessage): Promise<Identity> {
    const request = req as IdentifiedRequest;
    request.copilotIdentity ??= await this.identify(req.headers, originOf(req, 'http'));
    return request.copilotIdentity;
  }

  /**
   * A WebSocket connection's identity, resolved once per connection from the upgrade request's
   * headers or, since browsers cannot set headers on a WebSocket, `connectionParams.authorization`.
   */
  identifyConnection(upgrade: IncomingMessage, connectionParams?: Readonly<Record<string, unknown>>): Promise<Identity> {
    return this.identify(connectionHeaders(upgrade, connectionParams), originOf(upgrade, 'graphql-ws'));
  }

  /** An HTTP request's context, its identity resolved first (throws as `identify`). */
  async resolveRequest(req: IncomingMessage, res: ServerResponse): Promise<RequestContext> {
    await this.identifyRequest(req);
    return this.forRequest(req, res);
  }

  /**
   * The context of an HTTP request whose identity was resolved (`identifyRequest`). The signal
   * fires when the client goes away before the response is complete: Apollo's Express integration
   * keeps iterating a stream after a disconnect, so this signal is what reaches the LLM call and
   * cancels it.
   */
  forRequest(req: IncomingMessage, res: ServerResponse): RequestContext {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('The client disconnected.'));
    });
    const claimedId = req.headers['x-request-id'];
    const requestId = typeof claimedId === 'string' && REQUEST_ID.test(claimedId) ? claimedId : newId('req');
    const identity = (req as IdentifiedRequest).copilotIdentity ?? ANONYMOUS_IDENTITY;
    // The edge's (httpLogging), so the request's completion line gets what the pipeline adds.
    const log = requestLogContext(req, requestId);
    log.identity ??= identity.id;
    return { requestId, identity, headers: req.headers as Record<string, string | undefined>, signal: controller.signal, log };
  }

  /**
   * The context of one graphql-ws operation, on a connection whose identity `identifyConnection`
   * resolved; `signal` is the operation's own (it fires when the client completes it or goes).
   */
  forSocketOperation(upgrade: IncomingMessage | undefined, identity: Identity | undefined, signal: AbortSignal): RequestContext {
    const requestId = newId('ws');
    const resolved = identity ?? ANONYMOUS_IDENTITY;
    return {
      requestId,
      identity: resolved,
      headers: (upgrade?.headers ?? {}) as Record<string, string | undefined>,
      signal,
      log: { requestId, identity: resolved.id },
    };
  }
}

/**
 * The headers a graphql-ws connection authenticates with: the upgrade request's, where
 * `connectionParams.authorization` (or `connectionParams["x-api-key"]`) replaces the header of that
 * name, since a browser cannot set headers on a WebSocket.
 */
function connectionHeaders(upgrade: IncomingMessage, params?: Readonly<Record<string, unknown>>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = { ...upgrade.headers };
  const authorization = params?.authorization;
  const apiKey = params?.['x-api-key'] ?? params?.apiKey;
  if (typeof authorization === 'string' || typeof apiKey === 'string') {
    delete headers.authorization;
    delete headers['x-api-key'];
    if (typeof authorization === 'string') headers.authorization = authorization;
    if (typeof apiKey === 'string') headers['x-api-key'] = apiKey;
  }
  return headers;
}

function originOf(req: IncomingMessage, transport: CallerOrigin['transport']): CallerOrigin {
  const forwarded = req.headers?.['x-forwarded-for'];
  return {
    transport,
    // Express's `req.ip` honours TRUST_PROXY (the client behind a trusted proxy); else the peer.
    address: (req as IncomingMessage & { ip?: string }).ip ?? req.socket?.remoteAddress,
    forwardedFor: typeof forwarded === 'string' ? forwarded.slice(0, 200) : undefined,
  };
}
