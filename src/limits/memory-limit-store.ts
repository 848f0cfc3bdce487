import { LimitStore, RUNS_WINDOW_MS, TOKENS_WINDOW_MS, type Admission, type EffectiveLimits, type LimitName } from './limit-store.js';

interface Window {
  count: number;
  endsAt: number;
}

/**
 * The counters in this process (no REDIS_URL): exact for one instance; with several, each counts
 * its own callers. Expired windows and empty slot sets are dropped as they are met and by a sweep
 * every minute, so memory stays proportional to the active callers.
 */
export class MemoryLimitStore extends LimitStore {
  readonly label = 'memory';
  private readonly runs = new Map<string, Window>();
  private readonly tokens = new Map<string, Window>();
  private readonly slots = new Map<string, Set<string>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    super();
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async admit(subject: string, limits: EffectiveLimits, slotId: string): Promise<Admission> {
    const now = this.now();
    if (limits.tokensPerHour !== null) {
      const used = this.current(this.tokens, subject, now);
      if (used.count >= limits.tokensPerHour) {
        return refused('tokens_per_hour', limits.tokensPerHour, used.count, used.endsAt - now, TOKENS_WINDOW_MS);
      }
    }
    if (limits.runsPerMinute !== null) {
      const used = this.current(this.runs, subject, now);
      if (used.count >= limits.runsPerMinute) {
        return refused('runs_per_minute', limits.runsPerMinute, used.count, used.endsAt - now, RUNS_WINDOW_MS);
      }
    }
    if (limits.concurrentRuns !== null) {
      const held = this.slots.get(subject)?.size ?? 0;
      if (held >= limits.concurrentRuns) return refused('concurrent_runs', limits.concurrentRuns, held, 1_000, 1_000);
      const set = this.slots.get(subject) ?? new Set<string>();
      set.add(slotId);
      this.slots.set(subject, set);
    }
    if (limits.runsPerMinute !== null) this.add(this.runs, subject, 1, RUNS_WINDOW_MS, now);
    return { admitted: true };
  }

  async charge(subject: string, tokens: number): Promise<void> {
    this.add(this.tokens, subject, tokens, TOKENS_WINDOW_MS, this.now());
  }

  async release(subject: string, slotId: string): Promise<void> {
    const set = this.slots.get(subject);
    if (!set) return;
    set.delete(slotId);
    if (set.size === 0) this.slots.delete(subject);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private current(windows: Map<string, Window>, subject: string, now: number): Window {
    const window = windows.get(subject);
    if (window && window.endsAt > now) return window;
    windows.delete(subject);
    return { count: 0, endsAt: now };
  }

  private add(windows: Map<string, Window>, subject: string, amount: number, lengthMs: number, now: number): void {
    const window = windows.get(subject);
    if (window && window.endsAt > now) window.count += amount;
    else windows.set(subject, { count: amount, endsAt: now + lengthMs });
  }

  private sweep(): void {
    const now = this.now();
    for (const windows of [this.runs, this.tokens]) {
      for (const [subject, window] of windows) if (window.endsAt <= now) windows.delete(subject);
    }
  }
}

/** A refusal; an empty window (a limit of 0) is retried after a whole window. */
export function refused(limit: LimitName, max: number, used: number, leftMs: number, windowMs: number): Admission {
  return { admitted: false, limit, max, used, retryAfterMs: leftMs > 0 ? leftMs : windowMs };
}
