import type { RunEnd, RunPolicyStage, RunScope } from '../runtime/run-policy.js';
import type { RuntimeMetrics } from './runtime-metrics.js';

/** Last of all stages: a run counts as started only once every other stage let it through. */
export const RUN_METRICS_ORDER = 1_000_000;

const MAX_TRACKED = 10_000;

/**
 * Runs started and finished, their duration and errors, from the policy seam: no run code knows
 * about metrics. Label values are the agent id and the protocol, both bounded by configuration.
 */
export class RunMetricsStage implements RunPolicyStage {
  readonly name = 'metrics';
  readonly order = RUN_METRICS_ORDER;
  /**
   * Runs past the before step whose end is not counted yet: afterRun counts (and forgets) a run
   * that ran; onRunError alone means it could not start. Bounded: a run refused by its agent's
   * input check ends before the runner and is heard of by neither.
   */
  private readonly admitted = new Set<string>();

  constructor(private readonly metrics: RuntimeMetrics) {}

  beforeRun(run: RunScope): void {
    this.metrics.runsStarted.inc({ agent: run.agentId, protocol: run.protocol });
    this.admitted.add(run.runId);
    if (this.admitted.size > MAX_TRACKED) this.admitted.delete(this.admitted.values().next().value!);
  }

  afterRun(run: RunScope, end: RunEnd): void {
    this.admitted.delete(run.runId);
    this.metrics.runsFinished.inc({ agent: run.agentId, protocol: run.protocol, status: end.status });
    this.metrics.runDuration.observe(
      { agent: run.agentId, status: end.status },
      (end.finishedAt.getTime() - end.startedAt.getTime()) / 1000,
    );
  }

  onRunRefused(run: RunScope, refusal: { stage: string; code: string }): void {
    this.metrics.runsRefused.inc({ agent: run.agentId, stage: refusal.stage, code: refusal.code });
  }

  onRunError(run: RunScope, error: { code: string; message: string }): void {
    this.metrics.runErrors.inc({ agent: run.agentId, code: error.code });
    // Still tracked: no afterRun came, the run could not start (busy thread, database down).
    if (!this.admitted.delete(run.runId)) return;
    this.metrics.runsFinished.inc({ agent: run.agentId, protocol: run.protocol, status: 'refused' });
  }
}
