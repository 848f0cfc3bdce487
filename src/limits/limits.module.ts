import { Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { LimitStore } from './limit-store.js';
import type { LimitsOptions } from './limits-options.js';
import { LIMITS_OPTIONS, LimitsPolicy } from './limits.policy.js';
import { MemoryLimitStore } from './memory-limit-store.js';
import { RedisLimitStore } from './redis-limit-store.js';

/**
 * Per-caller limits and the instance's cap on concurrent runs, as the `limits` run policy stage
 * (discovered like any `@CopilotRunPolicy()` provider). The counters live in Redis when
 * `limits.redis` (REDIS_URL) is set, in memory otherwise.
 */
@Module({
  providers: [
    { provide: LIMITS_OPTIONS, inject: [RUNTIME_OPTIONS], useFactory: (options: CopilotRuntimeOptions) => options.limits ?? {} },
    {
      provide: LimitStore,
      inject: [LIMITS_OPTIONS],
      useFactory: async (options: LimitsOptions): Promise<LimitStore> => {
        if (!options.redis) return new MemoryLimitStore();
        const store = new RedisLimitStore(options.redis);
        // Boot never waits long nor fails on Redis: an outage is handled per run (onStoreFailure).
        if (!(await store.ready())) new Logger('Limits').warn(`${store.label} is not reachable yet; limits follow RATE_LIMIT_REDIS_FAILURE until it is.`);
        return store;
      },
    },
    LimitsPolicy,
  ],
  exports: [LimitStore, LimitsPolicy],
})
export class LimitsModule implements OnApplicationShutdown {
  constructor(@Inject(LimitStore) private readonly store: LimitStore) {}

  async onApplicationShutdown(): Promise<void> {
    await (this.store as LimitStore & { close?: () => unknown }).close?.();
  }
}
