import type { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';

/**
 * LangChain callback handlers attached to every chat model the resolver hands out (metrics and
 * traces of model calls, observability/): they see each call's start, first token, end (usage,
 * finish reason) and error, whichever provider built the model. Provided under
 * CHAT_MODEL_CALLBACKS; absent, models are left untouched.
 */
export const CHAT_MODEL_CALLBACKS = Symbol('CHAT_MODEL_CALLBACKS');

export type ChatModelCallbacks = readonly BaseCallbackHandler[];

const attached = new WeakSet<object>();

/**
 * Adds the handlers to the model's own callbacks (its own are kept), once per model instance: a
 * user's model instance is resolved again for every request. `bindTools` is followed too: some
 * providers (ChatOpenAI) answer it with a clone that does not keep callbacks set on the instance,
 * so the clone gets the handlers through its config.
 */
export function withCallbacks<T extends BaseChatModel>(model: T, handlers: ChatModelCallbacks | undefined): T {
  if (!handlers || handlers.length === 0 || attached.has(model)) return model;
  attached.add(model);
  const current = model.callbacks;
  if (current === undefined || current === null) {
    model.callbacks = [...handlers];
  } else if (Array.isArray(current)) {
    for (const handler of handlers) if (!current.includes(handler)) current.push(handler);
  } else {
    for (const handler of handlers) if (!current.handlers.includes(handler)) current.addHandler(handler, true);
  }
  const bindTools = model.bindTools?.bind(model);
  if (bindTools) {
    model.bindTools = ((...args: Parameters<typeof bindTools>) => {
      const bound = bindTools(...args);
      const inner = (bound as { bound?: unknown }).bound ?? bound;
      // The same instance underneath (a binding): its callbacks already apply.
      if (inner === model || carries(inner, handlers)) return bound;
      return bound.withConfig({ callbacks: [...handlers] });
    }) as typeof model.bindTools;
  }
  return model;
}

function carries(candidate: unknown, handlers: ChatModelCallbacks): boolean {
  const callbacks = (candidate as { callbacks?: unknown }).callbacks;
  const list = Array.isArray(callbacks) ? callbacks : (callbacks as { handlers?: unknown[] } | undefined)?.handlers;
  return Array.isArray(list) && handlers.every((handler) => list.includes(handler));
}
