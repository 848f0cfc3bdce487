import { Inject, Injectable, Optional } from '@nestjs/common';
import { AgentRegistry, type RegisteredAgent } from '../agents/agent-registry.js';
import type { RequestContext } from '../common/request-context.js';
import { Edges } from '../edges/edges.js';
import { checkRunInput } from '../edges/run-input-limits.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner, type RunStartRequest } from '../runs/agent-runner.js';
import type { RunResult } from '../runs/run-execution.js';
import { AgentInvoker, isEmptyState } from './agent-invoker.js';
import type { RunHandle } from './run-handle.js';
import { denialEvents } from './run-denial.js';
import { agentCallFor, runScopeFor } from './run-scope.js';
import { RunDenial, type RunEnd, type RunScope } from './run-policy.js';
import { RunPolicies } from './run-policies.js';
import type { RunOptions, RunRequest } from './run-request.js';

/**
 * The one run pipeline. Every request of every protocol becomes "agent X runs on thread T with
 * input I" and takes the same steps:
 *   1. the agent is looked up, registered or from an agent source such as a remote endpoint
 *      (AGENT_NOT_FOUND names the agents there are);
 *   2. the run policy stages decide, before anything is stored or any token is spent (a denied
 *      run is recorded with the denial as its only answer: steps 3 and the agent are skipped);
 *   3. the agent checks the call and prepares its run (bad input throws here, before streaming);
 *   4. the runner admits the run on the thread (its lock: a busy thread is refused here, not
 *      mid-stream), then pumps, numbers, logs and publishes its events;
 *   5. once it has ended and is recorded, the after stages hear how.
 * Transports only convert their input into a RunRequest and project the events.
 */
@Injectable()
export class CopilotRuntimeService {
  constructor(
    @Inject(AGENT_RUNNER) private readonly runner: AgentRunner,
    private readonly agents: AgentRegistry,
    private readonly invoker: AgentInvoker,
    private readonly policies: RunPolicies,
    @Optional() private readonly edges?: Edges,
  ) {}

  async run(ctx: RequestContext, request: RunRequest, options: RunOptions): Promise<RunHandle> {
    // 0. The input's limits (edges/run-input-limits.ts), before anything reads it further.
    checkRunInput(request, this.edges?.options.runPayload);
    const agent = await this.agents.resolve(request.agentId, { identity: ctx.identity, properties: request.properties });
    const { threadId, runId } = request.input;
    const scope = runScopeFor(ctx, agent.id, request, options.protocol);
    try {
      await this.policies.beforeRun(scope);
    } catch (error) {
      if (error instanceof RunDenial) return this.deny(scope, agent, request, options, error);
      throw error;
    }

    let usage: TokenUsage | null = null;
    const call = agentCallFor(scope, request, options.behaviour, (reported) => (usage = reported));
    let prepared: Awaited<ReturnType<AgentInvoker['prepare']>>;
    try {
      prepared = await this.invoker.prepare(agent, call);
    } catch (error) {
      // A run the agent refuses (bad input) after the policy stages let it through could not
      // start: they hear it (onRunError), e.g. to give back what they reserved (limits).
      this.policies.runFailedToStart(scope, error);
      throw error;
    }
    // The request's state, else the agent's last stored one, read with the admission (under the
    // thread's lock: a run queued behind another starts from the state that one left). A failed
    // read fails the run's body, not this request.
    const given = request.input.state;
    return this.start(scope, agent, request, options, {
      model: prepared.model ?? null,
      initialStateOf: isEmptyState(given) ? agent.id : undefined,
      body: (signal, admitted) => {
        const initialState = this.invoker.initialState(threadId, agent.id, given, admitted.storedState);
        initialState.catch(() => undefined); // awaited by the body; a body stopped before it starts leaves it unawaited
        return prepared.events(signal, initialState);
      },
      usage: () => usage,
    });
  }

  /**
   * A run a policy stage denied (guardrails): recorded like any run, on the same thread lock, but
   * its body is the denial and no agent or model is called. The after stages hear it as failed
   * with the denial's code.
   */
  private deny(scope: RunScope, agent: RegisteredAgent, request: RunRequest, options: RunOptions, denial: RunDenial): Promise<RunHandle> {
    return this.start(scope, agent, request, options, {
      model: null,
      body: () => denialEvents(scope.threadId, scope.runId, denial),
      usage: () => null,
    });
  }

  /** Admits and starts the run on its thread; once it has ended and is recorded, the after stages hear how. */
  private async start(
    scope: RunScope,
    agent: RegisteredAgent,
    request: RunRequest,
    options: RunOptions,
    run: Pick<RunStartRequest, 'model' | 'initialStateOf' | 'body' | 'usage'>,
  ): Promise<RunHandle> {
    const { ctx, threadId, runId } = scope;
    const startedAt = new Date();
    try {
      const session = await this.runner.run({
        ctx,
        threadId,
        runId,
        // A chat with the built-in agent is recorded as a model turn (no agent), as it always was:
        // the threads API's agentName filter finds agent sessions, not chats.
        agentName: agent.builtIn ? null : agent.id,
        ...run,
        inputMessages: request.input.messages,
        // What the run was given (the context as the before stages left it), for replays.
        runInput: { tools: request.input.tools ?? [], context: scope.context ?? [] },
        onCallerGone: options.onCallerGone,
        onFinished: (result) => this.policies.afterRun(scope, runEnd(result, startedAt)),
      });
      return { threadId, runId, events: session.events };
    } catch (error) {
      this.policies.runFailedToStart(scope, error);
      throw error;
    }
  }
}

function runEnd(result: RunResult, startedAt: Date): RunEnd {
  return {
    status: result.status,
    stopReason: result.stopReason ?? null,
    error: result.error,
    outputMessages: result.outputMessages,
    usage: result.usage,
    startedAt,
    finishedAt: new Date(),
  };
}
