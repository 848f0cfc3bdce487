import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from '../graphql-context.js';
import { STREAM_HEADERS } from './stream-headers.js';

const MULTIPART = /multipart\/mixed/i;
const DEFER_SPEC = /deferSpec=/i;

/**
 * Makes Apollo speak what the CopilotKit client speaks:
 * - The client accepts plain `multipart/mixed`; Apollo only streams when it sees
 *   `deferSpec=20220824` and otherwise silently buffers. The request's Accept is rewritten.
 * - Streamed responses carry headers that stop proxy buffering.
 * - The client turns any 4xx into a generic "endpoint not found", so request errors are sent
 *   as HTTP 200 with `errors[].extensions.code`, which it can show.
 */
export function incrementalDeliveryPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      const headers = request.http?.headers;
      const accept = headers?.get('accept') ?? '';
      if (headers && MULTIPART.test(accept)) {
        if (!DEFER_SPEC.test(accept)) {
          headers.set('accept', accept.replace(MULTIPART, 'multipart/mixed;deferSpec=20220824'));
        }
        contextValue.streamsLists = true;
      }
      return {
        async willSendResponse({ response }) {
          if (response.body.kind === 'incremental') {
            for (const [name, value] of Object.entries(STREAM_HEADERS)) response.http.headers.set(name, value);
          }
          const status = response.http.status;
          if (status !== undefined && status >= 400 && status < 500) response.http.status = 200;
        },
      };
    },
  };
}
