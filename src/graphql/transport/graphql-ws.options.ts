import { normalizedExecutor } from '@graphql-tools/executor';
import type { ExecutionArgs, ExecutionResult, GraphQLError } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../../common/request-context.js';
import type { RequestContexts } from '../../http/request-contexts.js';
import type { GraphQLContext } from '../graphql-context.js';
import { formatGraphQLError } from './error-formatter.js';

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

/** Errors over graphql-ws pass the same boundary as over HTTP: a code from the closed set, an error id. */
function formatErrors(errors: readonly GraphQLError[]) {
  return errors.map((error) => formatGraphQLError(error.toJSON(), error));
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

type WsExtra = { request: IncomingMessage; identity?: Identity };
type WsContext = { extra: unknown; connectionParams?: Readonly<Record<string, unknown>> };

/**
 * Options for Nest's graphql-ws server (merged over Nest's defaults). The identity is resolved
 * once per connection by the edge's RequestContexts, the same resolver as HTTP requests (see
 * `identifyConnection` for the `connectionParams.authorization` a browser sends instead of a header).
 */
export function graphqlWsOptions(contexts: RequestContexts) {
  return {
    execute,
    subscribe: execute,
    onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: ExecutionResult) =>
      result.errors?.length ? { ...result, errors: formatErrors(result.errors) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]) => formatErrors(errors),
    onConnect: async (ctx: WsContext) => {
      const extra = ctx.extra as WsExtra;
      try {
        extra.identity = await contexts.identifyConnection(extra.request, ctx.connectionParams);
        return true;
      } catch {
        return false; // graphql-ws closes with 4403 Forbidden
      }
    },
    context: (ctx: WsContext): GraphQLContext => {
      const controller = new AbortController();
      const extra = ctx.extra as WsExtra | undefined;
      const context: GraphQLContext = {
        request: contexts.forSocketOperation(extra?.request, extra?.identity, controller.signal),
        streamsLists: true,
      };
      controllers.set(context, controller);
      return context;
    },
  };
}
