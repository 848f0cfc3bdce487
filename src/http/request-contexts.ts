import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { IdentityResolver } from '../auth/identity-resolver.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { ANONYMOUS_IDENTITY, type Identity, type RequestContext } from '../common/request-context.js';

type IdentifiedRequest = IncomingMessage & { copilotIdentity?: Identity };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The one place where a caller becomes a RequestContext, for every way in: HTTP requests of
 * both protocols (GraphQL, AG-UI) and graphql-ws connections. All three resolve the identity with
 * the configured IdentityResolver (JWT, custom or anonymous: see auth/) through `identify`, so
 * the same credentials are the same identity whichever way they arrive, and a thread belongs to
 * its creator across protocols. Each transport answers a failure in its own shape.
 */
@Injectable()
export class RequestContexts {
  constructor(private readonly identities: IdentityResolver) {}

  /**
   * The identity these headers prove. Throws a CopilotRuntimeError (AUTHENTICATION_ERROR, or the
   * resolver's own code); anything else a resolver throws becomes "Authentication failed.".
   */
  async identify(headers: IncomingHttpHeaders): Promise<Identity> {
    try {
      return await this.identities.resolve(headers);
    } catch (error) {
      if (error instanceof CopilotRuntimeError) throw error;
      throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'Authentication failed.', { cause: error });
    }
  }

  /** An HTTP request's identity: resolved once per request, whichever middleware or handler asks first. */
  async identifyRequest(req: IncomingMessage): Promise<Identity> {
    const request = req as IdentifiedRequest;
    request.copilotIdentity ??= await this.identify(req.headers);
    return request.copilotIdentity;
  }

  /**
   * A WebSocket connection's identity, resolved once per connection from the upgrade request's
   * headers or, since browsers cannot set headers on a WebSocket, `connectionParams.authorization`.
   */
  identifyConnection(upgrade: IncomingMessage, connectionParams?: Readonly<Record<string, unknown>>): Promise<Identity> {
    const authorization = connectionParams?.authorization;
    const headers = typeof authorization === 'string' ? { ...upgrade.headers, authorization } : upgrade.headers;
    return this.identify(headers);
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
    return {
      requestId: typeof claimedId === 'string' && REQUEST_ID.test(claimedId) ? claimedId : newId('req'),
      identity: (req as IdentifiedRequest).copilotIdentity ?? ANONYMOUS_IDENTITY,
      headers: req.headers as Record<string, string | undefined>,
      signal: controller.signal,
    };
  }

  /**
   * The context of one graphql-ws operation, on a connection whose identity `identifyConnection`
   * resolved; `signal` is the operation's own (it fires when the client completes it or goes).
   */
  forSocketOperation(upgrade: IncomingMessage | undefined, identity: Identity | undefined, signal: AbortSignal): RequestContext {
    return {
      requestId: newId('ws'),
      identity: identity ?? ANONYMOUS_IDENTITY,
      headers: (upgrade?.headers ?? {}) as Record<string, string | undefined>,
      signal,
    };
  }
}
