import { Inject, Injectable, Logger } from '@nestjs/common';
import { CopilotRuntimeError, type RateLimitState } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { Identity } from '../common/request-context.js';
import { CopilotRunPolicy, RUN_POLICY_ORDER, type RunEnd, type RunPolicyStage, type RunScope } from '../runtime/run-policy.js';
import { LimitStore, type Admission, type EffectiveLimits } from './limit-store.js';
import { DEFAULT_MAX_CONCURRENT_RUNS, type LimitsOptions } from './limits-options.js';

export const LIMITS_OPTIONS = Symbol('LIMITS_OPTIONS');

/** Retry advice when the limits cannot be checked (RATE_LIMIT_REDIS_FAILURE=closed). */
const STORE_DOWN_RETRY_S = 5;
/** Retry advice at the instance's cap: runs end all the time, a second is a fair guess. */
const AT_CAPACITY_RETRY_S = 1;
/** One outage, one log line (then one when it is over), not one per run. */
const OUTAGE_LOG_EVERY_MS = 30_000;

interface Held {
  subject: string;
  slot: boolean;
  chargeTokens: boolean;
}

/**
 * The limits as a run policy stage (RUN_POLICY_ORDER.limits: before middleware and guardrails,
 * which may themselves call a model): the instance's cap on concurrent runs, then the
 * caller's tokens per hour, runs per minute and concurrent runs, in one atomic step of the
 * LimitStore. A refusal is RATE_LIMITED (or OVERLOADED at the instance's cap) with `retryAfter`:
 * nothing stored, no model called. After the run, whatever its ending, its reported tokens are
 * charged and its slot freed.
 *
 * The caller is the API key when there is one (each key is a client with its own budget, over the
 * global limits or the key's own), else the identity (JWT `sub`, your resolver's id, or the shared
 * anonymous identity).
 */
@Injectable()
@CopilotRunPolicy()
export class LimitsPolicy implements RunPolicyStage {
  readonly name = 'limits';
  readonly order = RUN_POLICY_ORDER.limits;
  private readonly logger = new Logger('Limits');
  private readonly defaults: EffectiveLimits;
  private readonly maxConcurrentRuns: number;
  private readonly failOpen: boolean;
  private readonly held = new Map<string, Held>();
  private active = 0;
  private outageLoggedAt = 0;
  private inOutage = false;

  constructor(
    private readonly store: LimitStore,
    @Inject(LIMITS_OPTIONS) options: LimitsOptions,
  ) {
    this.defaults = {
      runsPerMinute: options.runsPerMinute ?? null,
      tokensPerHour: options.tokensPerHour ?? null,
      concurrentRuns: options.concurrentRuns ?? null,
    };
    this.maxConcurrentRuns = options.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS;
    this.failOpen = (options.onStoreFailure ?? 'open') === 'open';
  }

  /** Runs holding a place on this instance (for tests and metrics). */
  get activeRuns(): number {
    return this.active;
  }

  async beforeRun(run: RunScope): Promise<void> {
    if (this.maxConcurrentRuns > 0 && this.active >= this.maxConcurrentRuns) {
      throw new CopilotRuntimeError(
        'OVERLOADED',
        `The server is at capacity (${this.maxConcurrentRuns} runs at once); try again in ${AT_CAPACITY_RETRY_S} s.`,
        { retryAfter: AT_CAPACITY_RETRY_S },
      );
    }
    const identity = run.ctx.identity;
    const limits = effectiveLimits(this.defaults, identity);
    const subject = subjectOf(identity);
    const any = limits.runsPerMinute !== null || limits.tokensPerHour !== null || limits.concurrentRuns !== null;
    // Counted before the await: concurrent admissions cannot all slip under the cap.
    this.active += 1;
    let admission: Admission = { admitted: true };
    let counted = any;
    if (any) {
      try {
        admission = await this.store.admit(subject, limits, run.runId);
        this.storeAnswered();
      } catch (error) {
        counted = false;
        const refusal = this.storeFailed(error);
        if (refusal) {
          this.active -= 1;
          throw refusal;
        }
      }
    }
    if (!admission.admitted) {
      this.active -= 1;
      throw rateLimited(admission, identity);
    }
    this.held.set(run.runId, {
      subject,
      slot: counted && limits.concurrentRuns !== null,
      chargeTokens: limits.tokensPerHour !== null,
    });
  }

  afterRun(run: RunScope, end: RunEnd): Promise<void> {
    return this.settle(run.runId, end.usage?.totalTokens ?? sumOf(end.usage));
  }

  /**
   * Also heard when the run could not start after this stage let it through: a later stage refused
   * it, the agent refused its input, the thread was busy, ...
   */
  onRunError(run: RunScope): Promise<void> {
    return this.settle(run.runId, 0);
  }

  /** Frees the run's place and slot and charges its tokens, once, whichever ending is heard first. */
  private async settle(runId: string, tokens: number): Promise<void> {
    const held = this.held.get(runId);
    if (!held) return;
    this.held.delete(runId);
    this.active -= 1;
    try {
      if (held.slot) await this.store.release(held.subject, runId);
      if (held.chargeTokens && tokens > 0) await this.store.charge(held.subject, tokens);
    } catch (error) {
      // A lost release frees itself when the slot's lease ends; a lost charge is lost (logged).
      this.logger.warn(`Could not settle the limits of run ${runId} in ${this.store.label}: ${(error as Error).message}`);
    }
  }

  private storeFailed(error: unknown): CopilotRuntimeError | null {
    const now = Date.now();
    if (!this.inOutage || now - this.outageLoggedAt >= OUTAGE_LOG_EVERY_MS) {
      this.logger.error(
        `${this.store.label} did not answer (${(error as Error)?.message ?? error}): runs are ` +
          (this.failOpen ? 'let through without per-caller limits (RATE_LIMIT_REDIS_FAILURE=open).' : 'refused (RATE_LIMIT_REDIS_FAILURE=closed).'),
      );
      this.outageLoggedAt = now;
    }
    this.inOutage = true;
    if (this.failOpen) return null;
    return new CopilotRuntimeError('OVERLOADED', `Usage limits cannot be checked right now; try again in ${STORE_DOWN_RETRY_S} s.`, {
      retryAfter: STORE_DOWN_RETRY_S,
      errorId: newId('err'),
    });
  }

  private storeAnswered(): void {
    if (!this.inOutage) return;
    this.inOutage = false;
    this.logger.log(`${this.store.label} answers again: per-caller limits apply.`);
  }
}

/** The caller counted: its API key, else its identity. */
export function subjectOf(identity: Identity): string {
  return identity.apiKey ? `key:${identity.apiKey.id}` : `id:${identity.id}`;
}

/** The global limits, each replaced by the caller's own where it has one (`null` lifts it). */
export function effectiveLimits(defaults: EffectiveLimits, identity: Identity): EffectiveLimits {
  const own = identity.limits ?? {};
  return {
    runsPerMinute: own.runsPerMinute !== undefined ? own.runsPerMinute : defaults.runsPerMinute,
    tokensPerHour: own.tokensPerHour !== undefined ? own.tokensPerHour : defaults.tokensPerHour,
    concurrentRuns: own.concurrentRuns !== undefined ? own.concurrentRuns : defaults.concurrentRuns,
  };
}

const DESCRIPTIONS = {
  runs_per_minute: (max: number) => `${max} runs per minute`,
  tokens_per_hour: (max: number) => `${max} model tokens per hour`,
  concurrent_runs: (max: number) => `${max} runs at the same time`,
};

function rateLimited(refusal: Extract<Admission, { admitted: false }>, identity: Identity): CopilotRuntimeError {
  const retryAfter = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  const rateLimit: RateLimitState = { limit: refusal.max, remaining: 0, resetSeconds: retryAfter, name: refusal.limit };
  const who = identity.apiKey ? 'this API key' : 'this caller';
  return new CopilotRuntimeError(
    'RATE_LIMITED',
    `Rate limit reached: ${who} may use ${DESCRIPTIONS[refusal.limit](refusal.max)}; try again in ${retryAfter} s.`,
    { retryAfter, rateLimit },
  );
}

function sumOf(usage: RunEnd['usage']): number {
  return (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0);
}
