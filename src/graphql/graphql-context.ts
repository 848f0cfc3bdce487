import type { RequestContext } from '../common/request-context.js';

/** The GraphQL context value: one per HTTP request or WebSocket operation. */
export interface GraphQLContext {
  request: RequestContext;
  /**
   * True when the executor can stream AsyncIterable list fields (incremental HTTP delivery,
   * graphql-ws). Plain graphql-js `execute` needs arrays instead: see stream-collection.ts.
   */
  streamsLists: boolean;
}
