import { Inject, Injectable } from '@nestjs/common';
import type { AgentCall } from '../agents/agent-call.js';
import { AgentRegistry } from '../agents/agent-registry.js';
import type { RequestContext } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner } from '../runs/agent-runner.js';
import { AgentInvoker } from './agent-invoker.js';
import type { RunHandle } from './run-handle.js';
import type { RunScope } from './run-policy.js';
import { RunPolicies } from './run-policies.js';
import type { RunOptions, RunRequest } from './run-request.js';

/**
 * The one run pipeline. Every request of every protocol becomes "agent X runs on thread T with
 * input I" and takes the same steps:
 *   1. the agent is looked up (AGENT_NOT_FOUND names the agents there are);
 *   2. the run policy stages decide, before anything is stored or any token is spent;
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
  ) {}

  async run(ctx: RequestContext, request: RunRequest, options: RunOptions): Promise<RunHandle> {
    const agent = this.agents.require(request.agentId);
    const { threadId, runId } = request.input;
    const scope: RunScope = {
      ctx,
      protocol: options.protocol,
      agentId: agent.id,
      threadId,
      runId,
      input: request.input,
      properties: { ...request.properties },
      forwardedHeaders: { ...request.forwardedHeaders },
    };
    await this.policies.beforeRun(scope);

    // Read while the run is prepared and admitted; the agent's run starts from it.
    const initialState = this.invoker.initialState(threadId, agent.id, request.input.state);
    initialState.catch(() => undefined); // a failed read fails the run's body, not this request
    let usage: TokenUsage | null = null;
    const call: AgentCall = {
      identity: ctx.identity,
      input: request.input,
      properties: scope.properties,
      forwardedHeaders: scope.forwardedHeaders,
      forwardedParameters: request.forwardedParameters,
      behaviour: options.behaviour,
      reportUsage: (reported) => (usage = reported),
    };
    try {
      // Inside the try: a run the agent refuses (bad input) is one that could not start, and the
      // stages that let it through hear it (onRunError), e.g. to give back what they reserved.
      const prepared = await this.invoker.prepare(agent, call, initialState);
      const startedAt = new Date();
      const session = await this.runner.run({
        ctx,
        threadId,
        runId,
        // A chat with the built-in agent is recorded as a model turn (no agent), as it always was:
        // the threads API's agentName filter finds agent sessions, not chats.
        agentName: agent.builtIn ? null : agent.id,
        model: prepared.model ?? null,
        inputMessages: request.input.messages,
        body: (signal) => prepared.events(signal),
        usage: () => usage,
        onCallerGone: options.onCallerGone,
        onFinished: (result) =>
          this.policies.afterRun(scope, {
            status: result.status,
            error: result.error,
            outputMessages: result.outputMessages,
            usage: result.usage,
            startedAt,
            finishedAt: new Date(),
          }),
      });
      return { threadId, runId, events: session.events };
    } catch (error) {
      this.policies.runFailedToStart(scope, error);
      throw error;
    }
  }
}
