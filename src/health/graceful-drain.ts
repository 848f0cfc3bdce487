import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { AGENT_RUNNER } from '../runs/agent-runner.js';
import { ShutdownState } from './shutdown-state.js';

/** The runner as the drain sees it (RunCore): how many runs it holds, and its shutdown. */
interface DrainableRunner {
  readonly activeRunCount?: number;
  shutdown?(): Promise<void>;
}

export const DRAIN_OPTIONS = Symbol('DRAIN_OPTIONS');

export interface DrainOptions {
  /** How long runs in flight may go on after shutdown begins. */
  deadlineMs: number;
  /** Poll period of the wait (tests shorten it). Default 100 ms. */
  pollMs?: number;
}

/**
 * The graceful drain, in Nest's first shutdown hook (`onModuleDestroy`; HealthModule is imported
 * first, so its hook runs before any other module's), while the HTTP server, Apollo and the
 * WebSocket server are all still up:
 *   1. ShutdownState begins: /health/ready answers 503, new runs are refused (DrainGate);
 *   2. the runs in flight get `deadlineMs` to end by themselves;
 *   3. the runner's shutdown stops what is left (RUN_ERROR "the server shut down" to every client
 *      and follower, a final status on every run row, locks released);
 * after which RunsShutdown finds nothing to do, the HTTP server closes, and PersistenceShutdown
 * drains the queued writes before the pool goes.
 */
@Injectable()
export class GracefulDrain implements OnModuleDestroy {
  private readonly logger = new Logger('Shutdown');

  constructor(
    private readonly state: ShutdownState,
    @Inject(AGENT_RUNNER) private readonly runner: DrainableRunner,
    @Inject(DRAIN_OPTIONS) private readonly options: DrainOptions,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.state.begin();
    const inFlight = this.active();
    if (inFlight > 0) {
      this.logger.log(`Draining: ${inFlight} run(s) in flight get up to ${this.options.deadlineMs} ms to finish`);
      const idle = await this.waitForIdle();
      if (!idle) this.logger.warn(`Drain deadline reached with ${this.active()} run(s) in flight: stopping them`);
    }
    // Stops what is left now, while clients are still connected to receive the terminal event.
    await this.runner.shutdown?.();
  }

  private active(): number {
    return this.runner.activeRunCount ?? 0;
  }

  private async waitForIdle(): Promise<boolean> {
    const giveUpAt = Date.now() + this.options.deadlineMs;
    const pollMs = this.options.pollMs ?? 100;
    while (this.active() > 0) {
      const left = giveUpAt - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    }
    return true;
  }
}
