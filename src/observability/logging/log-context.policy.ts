import { Injectable } from '@nestjs/common';
import { CopilotRunPolicy, type RunPolicyStage, type RunScope } from '../../runtime/run-policy.js';

/**
 * Puts the run's identity, thread and run into the request's LogContext (RequestContext.log):
 * every later line logged with it, and the request's completion line, carry them. Right after the
 * drain gate, so a refusal by a later stage is logged with them too.
 */
@Injectable()
@CopilotRunPolicy()
export class LogContextStage implements RunPolicyStage {
  readonly name = 'log-context';
  readonly order = -999_999;

  beforeRun(run: RunScope): void {
    Object.assign(run.ctx.log, { identity: run.ctx.identity.id, threadId: run.threadId, runId: run.runId });
  }
}
