import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Records where any AsyncLocalStorage becomes enabled (its first `run` or `enterWith`) until
 * `restore()`. On Node 20 an enabled one puts promise hooks on every promise of the process: the
 * runtime keeps them off its run path (see src/observability/logging/log-context.ts).
 * `ignore`: a stack fragment to leave out (a helper sharing the test's process, such as aimock).
 */
export function watchAsyncLocalStorage(ignore?: string): { enabled: string[]; restore(): void } {
  const enabled: string[] = [];
  const proto = AsyncLocalStorage.prototype as unknown as { _enable(): void };
  const original = proto._enable;
  proto._enable = function (this: { enabled?: boolean }) {
    const stack = new Error('AsyncLocalStorage enabled here').stack ?? '';
    if (!this.enabled && !(ignore && stack.includes(ignore))) enabled.push(stack);
    return original.call(this);
  };
  return { enabled, restore: () => void (proto._enable = original) };
}
