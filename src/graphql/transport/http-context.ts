import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContexts } from '../../http/request-contexts.js';
import type { GraphQLContext } from '../graphql-context.js';

/** The GraphQL context of an HTTP request (its identity was resolved by IdentityMiddleware). */
export function graphQLContextFor(contexts: RequestContexts, req: IncomingMessage, res: ServerResponse): GraphQLContext {
  return { request: contexts.forRequest(req, res), streamsLists: false };
}
