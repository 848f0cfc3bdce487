import type { AgentLimits } from './agent-definition.js';

/**
 * The three clocks of an agent run: time to the first event, silence between events, and the
 * whole run. Calls `onExpire` once, with the limit that ran out first; a limit of 0 is off.
 */
export class RunWatchdog {
  private activity?: NodeJS.Timeout;
  private total?: NodeJS.Timeout;
  private expired = false;

  constructor(
    private readonly limits: Required<AgentLimits>,
    private readonly onExpire: (limit: keyof AgentLimits, ms: number) => void,
  ) {}

  start(): void {
    this.total = this.arm('totalTimeoutMs');
    this.activity = this.arm('firstEventTimeoutMs');
  }

  /** An event arrived: the first-event clock (or the previous idle one) gives way to a new idle one. */
  event(): void {
    if (this.expired) return;
    clearTimeout(this.activity);
    this.activity = this.arm('idleTimeoutMs');
  }

  stop(): void {
    clearTimeout(this.activity);
    clearTimeout(this.total);
    this.activity = this.total = undefined;
  }

  private arm(limit: keyof AgentLimits): NodeJS.Timeout | undefined {
    const ms = this.limits[limit];
    if (!ms) return undefined;
    return setTimeout(() => {
      if (this.expired) return;
      this.expired = true;
      this.stop();
      this.onExpire(limit, ms);
    }, ms);
  }
}
