import { Injectable } from '@nestjs/common';

/**
 * Whether this process is shutting down. Set once, at the first shutdown hook (SIGTERM, or
 * `app.close()`): readiness answers 503 from then on and new runs are refused (DrainGate), so a
 * load balancer stops sending work while the runs in flight finish.
 */
@Injectable()
export class ShutdownState {
  private since: number | null = null;

  get draining(): boolean {
    return this.since !== null;
  }

  /** When the drain began (epoch ms), or null. */
  get drainingSince(): number | null {
    return this.since;
  }

  begin(now = Date.now()): void {
    this.since ??= now;
  }
}
