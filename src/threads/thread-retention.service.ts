import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { ThreadCatalog } from '../ports/thread-catalog.js';

/** Periodic clean-up of old threads (RetentionOptions); never touches a thread with an active run. */
@Injectable()
export class ThreadRetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ThreadRetentionService.name);
  private timer?: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly catalog: ThreadCatalog,
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    const rules = this.options.retention;
    if (!rules?.maxAgeMs && !rules?.maxThreads) return;
    this.timer = setInterval(() => void this.sweep(), rules.intervalMs ?? 10 * 60_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** One clean-up pass; returns how many threads were deleted. */
  async sweep(): Promise<number> {
    const rules = this.options.retention;
    if (this.sweeping || (!rules?.maxAgeMs && !rules?.maxThreads)) return 0;
    this.sweeping = true;
    try {
      const deleted = await this.catalog.deleteExpired({ maxAgeMs: rules.maxAgeMs, maxThreads: rules.maxThreads });
      if (deleted > 0) this.logger.log(`Retention deleted ${deleted} thread(s).`);
      return deleted;
    } catch (error) {
      this.logger.warn(`Retention clean-up failed, will retry: ${(error as Error).message}`);
      return 0;
    } finally {
      this.sweeping = false;
    }
  }
}
