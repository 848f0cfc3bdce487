import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../config/runtime-options.js';
import type { ModelCallSettings } from '../../llm/chat-model-provider.js';
import { ChatModelResolver, type ResolvedChatModel } from '../../llm/chat-model-resolver.js';
import type { TokenUsage, ToolChoice } from '../../llm/chat-turn.js';
import { LangChainChatEngine } from '../../llm/langchain-chat-engine.js';
import { applyStateEvent } from '../../runtime/agent-state.js';
import { asRuntimeError } from '../../runs/run-execution.js';
import type { ToolCatalog } from '../../tools/tool-catalog.js';
import type { RuntimeTool, ToolOutcome } from '../../tools/tool-source.js';
import { ToolSources } from '../../tools/tool-sources.js';
import type { AgentCall, PreparedAgentRun } from '../agent-call.js';
import type { AgentLimits } from '../agent-definition.js';
import { resolveAgentLimits } from '../agent-limits.js';
import { AgentRegistry, type RegisteredAgent } from '../agent-registry.js';
import {
  forwardedModelSettings,
  modelSettings,
  stateAsContext,
  toolChoice,
  withContext,
} from './model-call-settings.js';
import { StepTranscript } from './step-transcript.js';

/** The id of the built-in agent (what `<CopilotKit>` and a v1 chat without agentSession use). */
export const DEFAULT_AGENT_ID = 'default';

/** Model steps of one run when neither the agent options nor `agentDefaults` say otherwise. */
export const DEFAULT_MAX_STEPS = 10;

interface RunPlan {
  catalog: ToolCatalog;
  choice: ToolChoice | undefined;
  settings: ModelCallSettings;
  model: ResolvedChatModel | Error;
}

interface ServerCall {
  toolCallId: string;
  toolCallName: string;
  outcome: Promise<ToolOutcome>;
}

/**
 * The runtime's own agent, served as `default` (upstream's BuiltInAgent): the configured model
 * answers with every tool source's tools on offer. Server-side tools run here as soon as the
 * model's call of them ends; what happens next is the call's behaviour (see AgentBehaviour):
 * the run ends there (v1), or the results go back to the model, step after step, until it answers
 * without calling a server-side tool, calls a frontend tool or an agent, or reaches maxSteps (v2).
 * Register an agent with the id `default` to replace it.
 */
@Injectable()
export class BuiltInAgent implements RegisteredAgent {
  readonly id = DEFAULT_AGENT_ID;
  readonly name = DEFAULT_AGENT_ID;
  readonly description = 'The built-in assistant on the configured model, with the frontend tools and server actions.';
  /** Upstream's class for the same role, so the frontend's devtools label it the same way. */
  readonly className = 'BuiltInAgent';
  readonly builtIn = true;
  readonly limits: Required<AgentLimits>;
  readonly maxSteps: number;
  private readonly logger = new Logger('BuiltInAgent');

  constructor(
    private readonly models: ChatModelResolver,
    private readonly engine: LangChainChatEngine,
    private readonly toolSources: ToolSources,
    registry: AgentRegistry,
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
  ) {
    this.limits = resolveAgentLimits(this.id, undefined, options.agentDefaults?.limits);
    this.maxSteps = checkedMaxSteps(options.builtInAgent?.maxSteps ?? options.agentDefaults?.maxSteps ?? DEFAULT_MAX_STEPS);
    registry.useBuiltIn(this);
  }

  /** Validates the request (throwing before anything streams), picks the model and the tools. */
  async prepare(call: AgentCall): Promise<PreparedAgentRun> {
    const params = call.forwardedParameters ?? forwardedModelSettings(call.input.forwardedProps);
    const settings = modelSettings(params);
    // The model first: a model the request may not have is refused before any tool source is asked.
    let model: ResolvedChatModel | Error;
    try {
      model = this.models.resolve(settings, call.forwardedParameters ? 'forwardedParameters.model' : 'forwardedProps.model');
    } catch (error) {
      // Refused now, before anything is stored; no LLM at all fails the run instead, as a run
      // error the client sees in the stream (as it always did).
      if (error instanceof CopilotRuntimeError && error.code === 'BAD_USER_INPUT') throw error;
      model = error as Error;
    }
    const catalog = await this.toolSources.catalogFor({
      identity: call.identity,
      agentId: this.id,
      input: call.input,
      properties: call.properties,
      stateTools: call.behaviour.stateTools,
      requestHeaders: call.requestHeaders,
    });
    const choice = toolChoice(params, catalog);
    const plan: RunPlan = { catalog, choice, settings, model };
    return {
      model: model instanceof Error ? null : model.modelName,
      events: (signal, state) => this.run(call, plan, signal, state),
    };
  }

  /** The run: model steps as AG-UI events, each followed by its server-side tools' results. */
  private async *run(call: AgentCall, plan: RunPlan, signal: AbortSignal, initialState: unknown): AsyncGenerator<BaseEvent> {
    const { threadId, runId } = call.input;
    let usage: TokenUsage | null = null;
    let state = initialState;
    let conversation: Message[] = call.input.messages;

    yield stamp({ type: EventType.RUN_STARTED, threadId, runId });
    try {
      if (plan.model instanceof Error) throw plan.model;
      const model = plan.model;
      for (let step = 1; ; step++) {
        const turn = this.engine.streamChatTurn(
          model.model,
          {
            threadId,
            runId,
            messages: withContext(conversation, [...call.input.context, ...stateAsContext(state)]),
            tools: plan.catalog.definitions,
            // A forced choice is for the first step: forced again, the model could never answer.
            toolChoice: step === 1 ? plan.choice : undefined,
            settings: plan.settings,
            signal,
          },
          model.errorContext,
        );

        const transcript = new StepTranscript();
        const names = new Map<string, string>();
        const args = new Map<string, string>();
        const serverCalls: ServerCall[] = [];
        const agentCalls: Array<{ toolCallId: string; tool: Extract<RuntimeTool, { kind: 'agent' }> }> = [];
        let frontendCalled = false;
        try {
          for await (const event of turn.events) {
            const e = event as BaseEvent & Record<string, any>;
            if (e.type === EventType.TOOL_CALL_START) {
              names.set(e.toolCallId, e.toolCallName);
              args.set(e.toolCallId, '');
            } else if (e.type === EventType.TOOL_CALL_ARGS) {
              args.set(e.toolCallId, (args.get(e.toolCallId) ?? '') + e.delta);
            }
            transcript.apply(e);
            // Stamped by the engine when it made it: passed on as it is.
            yield e;
            if (e.type === EventType.TOOL_CALL_END) {
              const toolCallName = names.get(e.toolCallId) ?? '';
              const tool = plan.catalog.get(toolCallName);
              if (tool?.kind === 'server') {
                // Started now, awaited after the model's stream: several calls of one step run concurrently.
                const outcome = tool.execute(args.get(e.toolCallId) ?? '', {
                  threadId,
                  runId,
                  toolCallId: e.toolCallId,
                  identity: call.identity,
                  properties: call.properties,
                  state,
                  signal,
                });
                serverCalls.push({ toolCallId: e.toolCallId, toolCallName, outcome });
              } else if (tool?.kind === 'agent') {
                agentCalls.push({ toolCallId: e.toolCallId, tool });
              } else {
                frontendCalled = true;
              }
            }
          }
        } finally {
          usage = addUsage(usage, turn.usage());
          call.reportUsage(usage);
        }
        // An aborted model call ends its stream quietly: the runner closes the run as stopped.
        if (signal.aborted) return;

        for (const server of serverCalls) {
          const outcome = await server.outcome;
          for (const event of outcome.events ?? []) {
            const change = applyStateEvent(state, event);
            if (change && 'state' in change) state = change.state;
            yield event;
          }
          const result = stamp({
            type: EventType.TOOL_CALL_RESULT,
            messageId: `result-${server.toolCallId}`,
            toolCallId: server.toolCallId,
            toolCallName: server.toolCallName,
            content: outcome.content,
            role: 'tool',
          });
          transcript.apply(result);
          yield result;
        }
        // Agents the model called run after it, one at a time, streaming into this response.
        for (const { toolCallId, tool } of agentCalls) {
          for await (const event of tool.run(toolCallId, call, signal)) {
            yield event;
            if (event.type === EventType.RUN_ERROR) return;
          }
          if (signal.aborted) return;
        }

        const answered = serverCalls.length === 0 || agentCalls.length > 0 || frontendCalled;
        if (answered || call.behaviour.serverToolResults === 'client') break;
        if (step >= this.maxSteps) {
          this.logger.warn(`Run ${runId}: the model was still calling tools after ${this.maxSteps} steps (maxSteps); the run ends here.`, call.log);
          break;
        }
        conversation = [...conversation, ...transcript.messages()];
      }
      yield stamp({ type: EventType.RUN_FINISHED, threadId, runId });
    } catch (error) {
      if (signal.aborted) return;
      const failure = asRuntimeError(error);
      const errorId = newId('err');
      const cause = failure.cause instanceof Error ? ` (cause: ${failure.cause.message})` : '';
      this.logger.error(
        `[${errorId}] run ${runId} on thread ${threadId} failed with ${failure.code}: ${failure.message}${cause}`,
        failure.code === 'UNKNOWN' && failure.cause instanceof Error ? failure.cause.stack : undefined,
        call.log ?? { threadId, runId },
      );
      yield stamp({ type: EventType.RUN_ERROR, message: failure.message, code: failure.code, errorId });
    }
  }
}

/** The agent's own events (a few per run); the model's come stamped from the engine. */
function stamp(event: Record<string, unknown> & { type: EventType }): BaseEvent {
  return { timestamp: Date.now(), ...event } as BaseEvent;
}

function addUsage(total: TokenUsage | null, step: TokenUsage | null): TokenUsage | null {
  if (!step) return total;
  if (!total) return step;
  return {
    inputTokens: total.inputTokens + step.inputTokens,
    outputTokens: total.outputTokens + step.outputTokens,
    totalTokens: total.totalTokens + step.totalTokens,
  };
}

function checkedMaxSteps(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`Invalid maxSteps of the built-in agent: ${String(value)} (use a whole number >= 1).`);
  }
  return value;
}

