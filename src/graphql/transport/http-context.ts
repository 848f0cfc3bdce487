import type { IncomingMessage, ServerResponse } from 'node:http';
import { newId } from '../../common/ids.js';
import { ANONYMOUS_IDENTITY, type RequestContext } from '../../common/request-context.js';
import type { GraphQLContext } from '../graphql-context.js';
import type { IdentifiedRequest } from './identity.middleware.js';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Builds the request context of an HTTP request. The signal fires when the client goes away
 * before the response is complete: Apollo's Express integration keeps iterating a stream after a
 * disconnect, so this signal is what reaches the LLM call and cancels it.
 */
export function requestContextFor(req: IncomingMessage, res: ServerResponse): RequestContext {
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

export function graphQLContextFor(req: IncomingMessage, res: ServerResponse): GraphQLContext {
  return { request: requestContextFor(req, res), streamsLists: false };
}
