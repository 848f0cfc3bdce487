import { normalizedExecutor } from '@graphql-tools/executor';
import { GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { IncomingMessage } from 'node:http';
import type { Identity, LogContext } from '../../common/request-context.js';
import type { RequestContexts } from '../../http/request-contexts.js';
import type { GraphQLContext } from '../graphql-context.js';
import { formatGraphQLError } from './error-formatter.js';
import { inTurnIncremental } from './in-turn-incremental.js';

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
function formatErrors(errors: readonly GraphQLError[], log?: LogContext) {
  return errors.map((error) => formatGraphQLError(error.toJSON(), error, log));
}

/**
 * Queries, mutations (with @defer/@stream: the initial result, then what is ready in one turn as
 * one `next` message) and subscriptions (one `next` per event, as the protocol has it) over
 * graphql-ws, all run by @graphql-tools/executor.
 */
function run(args: ExecutionArgs, incremental: boolean) {
  const result = normalizedExecutor(args as Parameters<typeof normalizedExecutor>[0]);
  const controller = controllers.get(args.contextValue as object);
  if (!controller && !incremental) return result;
  return Promise.resolve(result).then((value) => {
    if (!isAsyncIterable(value)) return value;
    const results = incremental ? inTurnIncremental(value) : value;
    return controller ? abortWhenAbandoned(results, controller) : results;
  });
}

const execute = (args: ExecutionArgs) => run(args, true);
const subscribe = (args: ExecutionArgs) => run(args, false);

type WsExtra = { request: IncomingMessage; socket?: WsSocket; identity?: Identity; expiry?: NodeJS.Timeout };
type WsSocket = { close(code: number, reason: string): void; readyState: number };
type WsContext = { extra: unknown; connectionParams?: Readonly<Record<string, unknown>> };
const WS_OPEN = 1;

/** graphql-ws's close code for missing or lapsed credentials (its own `Unauthorized`). */
export const WS_UNAUTHORIZED = 4401;
/** RFC 6455's "Try Again Later". */
const WS_TRY_AGAIN_LATER = 1013;
/** setTimeout's largest delay; a later expiry is re-armed when the timer fires. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Closes the socket with 4401 and a reason naming the errorId of the logged security event (the
 * close reason is at most 123 bytes).
 */
function closeUnauthorized(extra: WsExtra, error: unknown): void {
  const errorId = (error as { errorId?: string } | null)?.errorId;
  const message = (error as Error | null)?.message ?? 'Unauthorized';
  clearTimeout(extra.expiry);
  // Credentials that could not be checked (their store is down) are not refused ones: 1013, try again later.
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== undefined && code !== 'AUTHENTICATION_ERROR') {
    extra.socket?.close(WS_TRY_AGAIN_LATER, `${message}${errorId ? ` (${errorId})` : ''}`.slice(0, 123));
    return;
  }
  extra.socket?.close(WS_UNAUTHORIZED, `Unauthorized: ${message}${errorId ? ` (${errorId})` : ''}`.slice(0, 123));
}

/**
 * Proves the connection's credentials again (the same resolver as at connect: an expired token,
 * or an API key revoked or expired since, fails and is logged as a security event) and closes the
 * socket with 4401 when they no longer hold; otherwise arms a timer at their expiry that does
 * the same.
 */
async function recheck(contexts: RequestContexts, ctx: WsContext): Promise<unknown> {
  const extra = ctx.extra as WsExtra;
  try {
    extra.identity = await contexts.identifyConnection(extra.request, ctx.connectionParams);
  } catch (error) {
    closeUnauthorized(extra, error);
    return error;
  }
  clearTimeout(extra.expiry);
  // The socket went while the credentials were checked: nothing to watch any more.
  if (extra.socket && extra.socket.readyState !== WS_OPEN) return null;
  const expiresAt = extra.identity.expiresAt;
  if (expiresAt !== undefined) {
    // At exp, or a little after (token `exp` is in seconds, and a check at exp itself still passes).
    const delay = Math.min(Math.max(0, expiresAt - Date.now()) + 50, MAX_TIMER_MS);
    extra.expiry = setTimeout(() => void recheck(contexts, ctx), delay);
    extra.expiry.unref?.();
  }
  return null;
}

/**
 * Options for Nest's graphql-ws server (merged over Nest's defaults). The identity is resolved
 * once per connection by the edge's RequestContexts, the same resolver as HTTP requests (see
 * `identifyConnection` for the `connectionParams.authorization` a browser sends instead of a header).
 */
export function graphqlWsOptions(contexts: RequestContexts) {
  return {
    execute,
    subscribe,
    onNext: (_ctx: unknown, _id: string, _payload: unknown, args: ExecutionArgs, result: ExecutionResult) =>
      result.errors?.length ? { ...result, errors: formatErrors(result.errors, (args.contextValue as GraphQLContext | undefined)?.request.log) } : undefined,
    onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLError[]) => formatErrors(errors),
    // Refused: closed with 4401 as HTTP's 401 (graphql-ws's own refusal would be 4403).
    onConnect: async (ctx: WsContext) => (await recheck(contexts, ctx)) === null,
    /** Every subscribe proves the credentials again: a lapsed or revoked one closes 4401 before anything runs. */
    onSubscribe: async (ctx: WsContext) => {
      const refused = await recheck(contexts, ctx);
      return refused === null ? undefined : [new GraphQLError((refused as Error).message)];
    },
    onClose: (ctx: WsContext) => clearTimeout((ctx.extra as WsExtra).expiry),
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
