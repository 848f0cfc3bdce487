import { Injectable } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { CopilotRunPolicy, type RunPolicyStage } from '../runtime/run-policy.js';
import { ShutdownState } from './shutdown-state.js';

/** First of all stages: a draining server refuses a run before any other stage counts it. */
export const DRAIN_GATE_ORDER = -1_000_000;

/**
 * Refuses new runs once shutdown has begun, with SHUTTING_DOWN (503; v2 adds `Retry-After`): the
 * client retries and the load balancer, seeing this instance not ready, sends it elsewhere.
 */
@Injectable()
@CopilotRunPolicy()
export class DrainGate implements RunPolicyStage {
  readonly name = 'drain-gate';
  readonly order = DRAIN_GATE_ORDER;

  constructor(private readonly state: ShutdownState) {}

  beforeRun(): void {
    if (this.state.draining) {
      throw new CopilotRuntimeError(
        'SHUTTING_DOWN',
        'This server is shutting down and takes no new runs; retry in a moment (another instance will serve it).',
      );
    }
  }
}
