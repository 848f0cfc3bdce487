import { Injectable } from '@nestjs/common';
import { CopilotRunPolicy, type RunPolicyStage, type RunScope } from '../../runtime/run-policy.js';
import { annotateLogContext } from './log-context.js';

/**
 * Puts the run's identity, thread and run (and, for graphql-ws, the operation's request id) into
 * the LogContext: every later line of the request, the runner's and the agent's included, carries
 * them. Right after the drain gate, so a refusal by a later stage is logged with them too.
 */
@Injectable()
@CopilotRunPolicy()
export class LogContextStage implements RunPolicyStage {
  readonly name = 'log-context';
  readonly order = -999_999;

  beforeRun(run: RunScope): void {
    annotateLogContext({ requestId: run.ctx.requestId, identity: run.ctx.identity.id, threadId: run.threadId, runId: run.runId });
  }
}
