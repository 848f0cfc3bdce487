import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { markedProviders } from '../common/marked-providers.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { COPILOT_RUN_POLICY_METADATA, RunDenial, type RunEnd, type RunPolicyStage, type RunScope } from './run-policy.js';
import { runLogContext } from '../observability/logging/log-context.js';

/**
 * The ordered run policy stages: `runPolicies` of the module options, then the
 * `@CopilotRunPolicy()` providers of any module, sorted by `order` (stable).
 */
@Injectable()
export class RunPolicies implements OnModuleInit {
  private readonly logger = new Logger('RunPolicy');
  private stages: RunPolicyStage[] = [];

  constructor(
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const stages = [...(this.options.runPolicies ?? [])];
    for (const { instance: stage, type } of markedProviders<RunPolicyStage>(this.discovery, this.reflector, COPILOT_RUN_POLICY_METADATA)) {
      if (!stage || typeof stage.name !== 'string') {
        throw new Error(`@CopilotRunPolicy() ${type.name} must implement RunPolicyStage (a name and at least one step).`);
      }
      if (!stages.includes(stage)) stages.push(stage);
    }
    this.stages = stages.sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    if (this.stages.length > 0) this.logger.log(`Run policy stages: ${this.stages.map((s) => s.name).join(', ')}`);
  }

  /**
   * Every before step, in order; the first refusal (a CopilotRuntimeError) or denial (a
   * RunDenial) ends the chain.
   */
  async beforeRun(run: RunScope): Promise<void> {
    const passed: RunPolicyStage[] = [];
    for (const stage of this.stages) {
      if (!stage.beforeRun) continue;
      try {
        await stage.beforeRun(run);
        passed.push(stage);
      } catch (error) {
        if (error instanceof RunDenial) {
          // A recorded run: its afterRun follows.
          this.notifyRefused(run, stage, { code: error.code, message: error.reason });
          throw error;
        }
        const refusal = error instanceof CopilotRuntimeError ? error : this.unexpected(stage, run, error);
        this.notifyRefused(run, stage, refusal);
        // The stages that let the run through hear that it could not start (e.g. limits give back a slot).
        for (const earlier of passed) {
          if (earlier.onRunError) {
            this.swallow(earlier, 'onRunError', run, () => earlier.onRunError!(run, { code: refusal.code, message: refusal.message }));
          }
        }
        throw refusal;
      }
    }
  }

  private unexpected(stage: RunPolicyStage, run: RunScope, error: unknown): CopilotRuntimeError {
    const errorId = newId('err');
    this.logger.error(`[${errorId}] run policy "${stage.name}" failed before run ${run.runId}: ${describe(error)}`, runLogContext(run));
    return new CopilotRuntimeError('UNKNOWN', `The run policy "${stage.name}" failed; the run was refused (error ${errorId}).`, {
      cause: error,
      errorId,
    });
  }

  /** Every stage with `onRunRefused` hears which stage refused the run and why (metrics). */
  private notifyRefused(run: RunScope, by: RunPolicyStage, error: Pick<CopilotRuntimeError, 'code' | 'message'>): void {
    const refusal = { stage: by.name, code: error.code, message: error.message };
    for (const stage of this.stages) {
      if (stage.onRunRefused) this.swallow(stage, 'onRunRefused', run, () => stage.onRunRefused!(run, refusal));
    }
  }

  /** Fire and forget: never delays the caller, never throws. */
  afterRun(run: RunScope, end: RunEnd): void {
    for (const stage of this.stages) {
      if (stage.afterRun) this.swallow(stage, 'afterRun', run, () => stage.afterRun!(run, end));
      if (end.status === 'failed' && end.error && stage.onRunError) {
        this.swallow(stage, 'onRunError', run, () => stage.onRunError!(run, end.error!));
      }
    }
  }

  /** The run could not start (busy thread, database down...) after the before steps let it through. */
  runFailedToStart(run: RunScope, error: unknown): void {
    const failure = error instanceof CopilotRuntimeError ? { code: error.code, message: error.message } : { code: 'UNKNOWN', message: describe(error) };
    for (const stage of this.stages) {
      if (stage.onRunError) this.swallow(stage, 'onRunError', run, () => stage.onRunError!(run, failure));
    }
  }

  private swallow(stage: RunPolicyStage, step: string, run: RunScope, call: () => void | Promise<void>): void {
    const report = (error: unknown) => {
      const errorId = newId('err');
      this.logger.error(`[${errorId}] run policy "${stage.name}" ${step} failed for run ${run.runId}: ${describe(error)}`, runLogContext(run));
    };
    try {
      const result = call();
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).catch(report);
    } catch (error) {
      report(error);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
