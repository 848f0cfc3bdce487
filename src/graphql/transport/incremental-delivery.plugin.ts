import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../graphql-context.js';
import { STREAM_HEADERS } from '../../http/stream-headers.js';

const MULTIPART = /multipart\/mixed/i;
const DEFER_SPEC = /deferSpec=/i;
const ACCEPTS_JSON = /application\/(?:graphql-response\+)?json|\*\/\*|application\/\*/i;
const METHOD_NOT_ALLOWED = 405;

/**
 * Makes Apollo speak what the CopilotKit client speaks:
 * - The client accepts plain `multipart/mixed`; Apollo only streams when it sees
 *   `deferSpec=20220824` and otherwise silently buffers. The request's Accept is rewritten.
 *   A client that accepts only multipart still gets non-incremental results (errors, plain
 *   queries) as JSON rather than Apollo's 406.
 * - Streamed responses carry headers that stop proxy buffering.
 * - The client turns any 4xx into a generic "endpoint not found", so request errors are sent
 *   as HTTP 200 with `errors[].extensions.code`, which it can show. The exception is a wrong
 *   HTTP method (a mutation over GET): 405 with `Allow`, like any other wrong method.
 */
export function incrementalDeliveryPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      const headers = request.http?.headers;
      const accept = headers?.get('accept') ?? '';
      if (headers && MULTIPART.test(accept)) {
        let rewritten = DEFER_SPEC.test(accept) ? accept : accept.replace(MULTIPART, 'multipart/mixed;deferSpec=20220824');
        if (!ACCEPTS_JSON.test(accept)) rewritten += ', application/json;q=0.1';
        headers.set('accept', rewritten);
        contextValue.streamsLists = true;
      }
      return {
        async willSendResponse({ response }) {
          if (response.body.kind === 'incremental') {
            for (const [name, value] of Object.entries(STREAM_HEADERS)) response.http.headers.set(name, value);
          }
          const status = response.http.status;
          if (status !== undefined && status >= 400 && status < 500 && status !== METHOD_NOT_ALLOWED) {
            response.http.status = 200;
          }
        },
      };
    },
  };
}
