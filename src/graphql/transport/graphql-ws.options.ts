import { normalizedExecutor } from '@graphql-tools/executor';
import type { ExecutionArgs } from 'graphql';
import type { IncomingMessage } from 'node:http';
import { newId } from '../../common/ids.js';
import { ANONYMOUS_IDENTITY } from '../../common/request-context.js';
import type { GraphQLContext } from '../graphql-context.js';

const controllers = new WeakMap<object, AbortController>();

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/**
 * graphql-ws cancels an operation by calling `return()` on its result (client `complete`, socket
 * close). Runs are driven independently of that iterator, so cancellation must reach the run
 * through its abort signal: this wrapper fires it when the iteration stops early.
 */
async function* abortWhenAbandoned<T>(source: AsyncIterable<T>, controller: AbortController): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!finished) {
      // Abort first, so the model call and action handlers see the stop before the run unwinds.
      controller.abort(new Error('The subscriber went away.'));
      await iterator.return?.();
    }
  }
}

/**
 * Queries, mutations (with @defer/@stream: each incremental part is one `next` message) and
 * subscriptions over graphql-ws, all run by @graphql-tools/executor.
 */
function execute(args: ExecutionArgs) {
  const result = normalizedExecutor(args as Parameters<typeof normalizedExecutor>[0]);
  const controller = controllers.get(args.contextValue as object);
  if (!controller) return result;
  return Promise.resolve(result).then((value) =>
    isAsyncIterable(value) ? abortWhenAbandoned(value, controller) : value,
  );
}

type WsExtra = { request: IncomingMessage };

/** Options for Nest's graphql-ws server (merged over Nest's defaults). */
export function graphqlWsOptions() {
  return {
    execute,
    subscribe: execute,
    context: (ctx: { extra: unknown }): GraphQLContext => {
      const controller = new AbortController();
      const request = (ctx.extra as WsExtra | undefined)?.request;
      const context: GraphQLContext = {
        request: {
          requestId: newId('ws'),
          identity: ANONYMOUS_IDENTITY,
          headers: (request?.headers ?? {}) as Record<string, string | undefined>,
          signal: controller.signal,
        },
        streamsLists: true,
      };
      controllers.set(context, controller);
      return context;
    },
  };
}
