import { EventType, type BaseEvent } from '@ag-ui/core';
import { Injectable, Optional } from '@nestjs/common';
import { AgentRegistry } from '../agents/agent-registry.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { Edges } from '../edges/edges.js';
import { checkRunInput } from '../edges/run-input-limits.js';
import type { RequestContext } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { isAgentRunMarker } from './agent-run-markers.js';
import { MessageAssembler } from './message-assembler.js';
import { denialEvents } from './run-denial.js';
import { RunDenial, type RunEnd } from './run-policy.js';
import { agentCallFor, runScopeFor } from './run-scope.js';
import { RunPolicies } from './run-policies.js';
import type { RunRequest } from './run-request.js';

/**
 * Runs that leave nothing behind: v2 suggestions (`POST /agent/:id/suggest`), which upstream
 * runs on the agent directly so that every suggestion does not become a stored thread. They take
 * the same policy stages as every run (limits, guardrails, audit: `beforeRun` may refuse it,
 * `afterRun` hears how it ended), and the same agent preparation (bad input throws before
 * streaming), but no runner: no thread, lock, event log, stored messages or agent state. The
 * events stream to the caller only; its going away stops the agent.
 */
@Injectable()
export class StatelessRuns {
  constructor(
    private readonly agents: AgentRegistry,
    private readonly policies: RunPolicies,
    @Optional() private readonly edges?: Edges,
  ) {}

  async run(ctx: RequestContext, request: RunRequest): Promise<AsyncIterable<BaseEvent>> {
    checkRunInput(request, this.edges?.options.runPayload);
    const agent = await this.agents.resolve(request.agentId, { identity: ctx.identity, properties: request.properties });
    const { threadId, runId } = request.input;
    const scope = runScopeFor(ctx, agent.id, request, 'v2');
    try {
      await this.policies.beforeRun(scope);
    } catch (error) {
      // A denied suggestion (guardrails) streams the denial; nothing is stored either way.
      if (error instanceof RunDenial) return denialEvents(threadId, runId, error);
      throw error;
    }
    let usage: TokenUsage | null = null;
    // The answer is the tool call itself: no shared-state tools, nothing stored to update.
    const call = agentCallFor(scope, request, { serverToolResults: 'model', stateTools: false }, (reported) => (usage = reported));
    let prepared;
    try {
      prepared = await agent.prepare(call);
    } catch (error) {
      this.policies.runFailedToStart(scope, error);
      throw error;
    }
    const policies = this.policies;
    const startedAt = new Date();
    return (async function* stream(): AsyncGenerator<BaseEvent> {
      const assembler = new MessageAssembler();
      let end: Pick<RunEnd, 'status' | 'error'> = { status: 'stopped', error: null };
      try {
        for await (const event of prepared.events(ctx.signal, request.input.state ?? {})) {
          if (event.type === EventType.CUSTOM && isAgentRunMarker(event)) continue;
          assembler.apply(event);
          if (event.type === EventType.RUN_FINISHED) end = { status: ctx.signal.aborted ? 'stopped' : 'succeeded', error: null };
          if (event.type === EventType.RUN_ERROR) {
            const { code, message } = event as BaseEvent & { code?: string; message?: string };
            end = { status: 'failed', error: { code: code ?? 'UNKNOWN', message: message ?? 'The run failed.' } };
          }
          yield event.type === EventType.RUN_STARTED || event.type === EventType.RUN_FINISHED
            ? ({ ...event, threadId, runId } as BaseEvent)
            : event;
        }
      } catch (error) {
        end = {
          status: 'failed',
          error: error instanceof CopilotRuntimeError ? { code: error.code, message: error.message } : { code: 'UNKNOWN', message: String(error) },
        };
        throw error;
      } finally {
        policies.afterRun(scope, { ...end, outputMessages: assembler.result(), usage, startedAt, finishedAt: new Date() });
      }
    })();
  }
}
