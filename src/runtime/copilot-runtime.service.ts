import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActionExecutor } from '../actions/action-executor.js';
import { ActionRegistry } from '../actions/action-registry.js';
import type { ActionContext } from '../actions/server-action.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { RequestContext } from '../common/request-context.js';
import type { ModelCallSettings } from '../llm/chat-model-provider.js';
import type { ToolChoice } from '../llm/chat-turn.js';
import { ChatModelResolver, type ResolvedChatModel } from '../llm/chat-model-resolver.js';
import { LangChainChatEngine } from '../llm/langchain-chat-engine.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import { AGENT_RUNNER, type AgentRunner } from '../runs/agent-runner.js';
import { EventLoopFairness } from './event-loop-fairness.js';
import type { RunHandle } from './run-handle.js';
import type { AgentRunRequest, ContextItem, ForwardedParameters, RunRequest } from './run-request.js';
import { AgentRegistry, type RegisteredAgent } from '../agents/agent-registry.js';
import { AgentInvoker } from './agent-invoker.js';
import { DEFAULT_AGENT_ID, defaultAgentRunRequest } from './default-agent.js';
import { ToolCatalog } from './tool-catalog.js';

interface RunPlan {
  catalog: ToolCatalog;
  choice: ToolChoice | undefined;
  settings: ModelCallSettings;
  model: ResolvedChatModel | Error;
  reportUsage: (usage: TokenUsage | null) => void;
}

interface PendingAction {
  toolCallId: string;
  actionName: string;
  result: Promise<string>;
}

/**
 * Turns a request into a run: picks the model, offers the tools, streams the model's answer as
 * AG-UI events, executes server actions when their call ends, and records the run. Protocol
 * adapters (GraphQL v1, later AG-UI) only convert inputs and project the events.
 */
@Injectable()
export class CopilotRuntimeService {
  private readonly logger = new Logger(CopilotRuntimeService.name);

  constructor(
    private readonly models: ChatModelResolver,
    private readonly engine: LangChainChatEngine,
    private readonly actions: ActionRegistry,
    private readonly executor: ActionExecutor,
    @Inject(AGENT_RUNNER) private readonly runner: AgentRunner,
    private readonly agents: AgentRegistry,
    private readonly agentInvoker: AgentInvoker,
  ) {}

  /**
   * Starts a run of a named agent (v2 `/agent/:id/run`, v1 `agentSession`). The built-in
   * `default` agent, unless an agent of that id is registered, is the LLM path. Unknown agent:
   * AGENT_NOT_FOUND, before anything is stored.
   */
  async startAgentRun(
    ctx: RequestContext,
    request: AgentRunRequest,
    options: { onCallerGone?: 'abort' | 'continue' } = {},
  ): Promise<RunHandle> {
    const agent = this.agents.get(request.agentId);
    if (!agent) {
      if (request.agentId === DEFAULT_AGENT_ID) return this.startRun(ctx, defaultAgentRunRequest(request), options);
      this.agents.require(request.agentId);
    }
    const registered = agent!;
    const { threadId, runId } = request.input;
    const initialState = await this.agentInvoker.initialState(threadId, registered.id, request.input.state);
    const input = { ...request.input, state: initialState };
    const session = await this.runner.run({
      ctx,
      threadId,
      runId,
      agentName: registered.id,
      model: null,
      inputMessages: input.messages,
      body: (signal) => this.agentInvoker.session(registered, input, signal, request.forwardedHeaders),
      onCallerGone: options.onCallerGone ?? 'abort',
    });
    return { threadId, runId, events: session.events };
  }

  /**
   * Validates the request (throwing before anything streams), then starts the run through the
   * runner, which takes the thread's lock first: a busy thread is refused here, not mid-stream.
   */
  async startRun(
    ctx: RequestContext,
    request: RunRequest,
    options: { onCallerGone?: 'abort' | 'continue' } = {},
  ): Promise<RunHandle> {
    const catalog = new ToolCatalog(this.actions.list(), request.frontendTools, this.agents.list());
    const choice = toolChoice(request.forwardedParameters, catalog);
    const settings = modelSettings(request.forwardedParameters);
    let model: ResolvedChatModel | Error;
    try {
      model = this.models.resolve(settings);
    } catch (error) {
      model = error as Error;
    }
    let usage: TokenUsage | null = null;
    const session = await this.runner.run({
      ctx,
      threadId: request.threadId,
      runId: request.runId,
      agentName: null,
      model: model instanceof Error ? null : model.modelName,
      inputMessages: request.messages,
      body: (signal) =>
        this.execute({ ...ctx, signal }, request, { catalog, choice, settings, model, reportUsage: (u) => (usage = u) }),
      usage: () => usage,
      onCallerGone: options.onCallerGone ?? 'abort',
    });
    return { threadId: request.threadId, runId: request.runId, events: session.events };
  }

  /**
   * The run's body on the LLM path: the model's answer as AG-UI events, then server actions'
   * results. The runner numbers, publishes, logs and records what this yields.
   */
  private async *execute(ctx: RequestContext, request: RunRequest, plan: RunPlan): AsyncGenerator<BaseEvent> {
    const { threadId, runId } = request;
    const fairness = new EventLoopFairness();
    const stamp = (event: Record<string, unknown> & { type: EventType }): BaseEvent =>
      ({ timestamp: Date.now(), ...event }) as BaseEvent;

    yield stamp({ type: EventType.RUN_STARTED, threadId, runId });
    try {
      if (plan.model instanceof Error) throw plan.model;
      const turn = this.engine.streamChatTurn(
        plan.model.model,
        {
          threadId,
          runId,
          messages: withContext(request.messages, request.context),
          tools: plan.catalog.tools,
          toolChoice: plan.choice,
          settings: plan.settings,
          signal: ctx.signal,
        },
        plan.model.errorContext,
      );

      const argsByCall = new Map<string, string>();
      const namesByCall = new Map<string, string>();
      const pending: PendingAction[] = [];
      const agentCalls: Array<{ toolCallId: string; agent: RegisteredAgent }> = [];
      const actionContext: ActionContext = {
        threadId,
        runId,
        identity: ctx.identity,
        properties: request.properties,
        signal: ctx.signal,
      };

      try {
        for await (const event of turn.events) {
          const e = event as BaseEvent & Record<string, any>;
          if (e.type === EventType.TOOL_CALL_START) {
            namesByCall.set(e.toolCallId, e.toolCallName);
            argsByCall.set(e.toolCallId, '');
          } else if (e.type === EventType.TOOL_CALL_ARGS) {
            argsByCall.set(e.toolCallId, (argsByCall.get(e.toolCallId) ?? '') + e.delta);
          }
          yield stamp(e);
          if (e.type === EventType.TOOL_CALL_END) {
            const actionName = namesByCall.get(e.toolCallId) ?? '';
            const action = plan.catalog.serverAction(actionName);
            if (action) {
              // Started now, awaited after the model stream: several calls in one turn run concurrently.
              const result = this.executor.execute(action, argsByCall.get(e.toolCallId) ?? '', actionContext);
              pending.push({ toolCallId: e.toolCallId, actionName, result });
            }
            const agent = plan.catalog.agent(actionName);
            if (agent) agentCalls.push({ toolCallId: e.toolCallId, agent });
          }
          await fairness.yieldIfBusy();
        }
      } finally {
        plan.reportUsage(turn.usage());
      }
      // An aborted model call ends its stream quietly: the runner closes the run as stopped.
      if (ctx.signal.aborted) return;

      for (const action of pending) {
        const content = await action.result;
        yield stamp({
          type: EventType.TOOL_CALL_RESULT,
          messageId: `result-${action.toolCallId}`,
          toolCallId: action.toolCallId,
          toolCallName: action.actionName,
          content,
          role: 'tool',
        });
      }
      // Agents the model called run after it, one at a time, streaming into this response.
      for (const { toolCallId, agent } of agentCalls) {
        const call = {
          toolCallId,
          threadId,
          messages: request.messages,
          tools: request.frontendTools,
          context: request.context,
          properties: request.properties,
        };
        for await (const event of this.agentInvoker.asTool(agent, call, ctx.signal)) {
          yield event;
          if (event.type === EventType.RUN_ERROR) return;
        }
        if (ctx.signal.aborted) return;
      }
      if (ctx.signal.aborted) return;
      yield stamp({ type: EventType.RUN_FINISHED, threadId, runId });
    } catch (error) {
      if (ctx.signal.aborted) return;
      const failure = asRuntimeError(error);
      const errorId = newId('err');
      this.logRunError(failure, errorId, runId, threadId);
      yield stamp({ type: EventType.RUN_ERROR, message: failure.message, code: failure.code, errorId });
    }
  }

  private logRunError(error: CopilotRuntimeError, errorId: string, runId: string, threadId: string): void {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : '';
    this.logger.error(
      `[${errorId}] run ${runId} on thread ${threadId} failed with ${error.code}: ${error.message}${cause}`,
      error.code === 'UNKNOWN' && error.cause instanceof Error ? error.cause.stack : undefined,
    );
  }
}

function modelSettings(params: ForwardedParameters) {
  return {
    model: params.model,
    temperature: params.temperature,
    maxTokens: params.maxTokens,
    stop: params.stop,
  };
}

function toolChoice(params: ForwardedParameters, catalog: ToolCatalog): ToolChoice | undefined {
  switch (params.toolChoice) {
    case undefined:
    case null:
      return undefined;
    case 'auto':
    case 'none':
    case 'required':
      return params.toolChoice;
    case 'function':
      if (!params.toolChoiceFunctionName) {
        throw new CopilotRuntimeError(
          'BAD_USER_INPUT',
          'forwardedParameters.toolChoice "function" needs forwardedParameters.toolChoiceFunctionName.',
        );
      }
      if (!catalog.tools.some((tool) => tool.name === params.toolChoiceFunctionName)) {
        throw new CopilotRuntimeError(
          'BAD_USER_INPUT',
          `forwardedParameters.toolChoiceFunctionName "${params.toolChoiceFunctionName}" is not one of the tools offered: ` +
            (catalog.tools.map((tool) => tool.name).join(', ') || 'none'),
        );
      }
      return { name: params.toolChoiceFunctionName };
    default:
      throw new CopilotRuntimeError(
        'BAD_USER_INPUT',
        `forwardedParameters.toolChoice must be auto, none, required or function; got "${params.toolChoice}".`,
      );
  }
}

/** The application's context items reach the model as one system message after the others. */
function withContext(messages: Message[], context: ContextItem[]): Message[] {
  if (context.length === 0) return messages;
  const content =
    'Context provided by the application:\n' +
    context.map((item) => `- ${item.description}: ${item.value}`).join('\n');
  const leadingSystem = messages.findIndex((m) => m.role !== 'system' && m.role !== 'developer');
  const at = leadingSystem === -1 ? messages.length : leadingSystem;
  return [...messages.slice(0, at), { id: 'copilot-context', role: 'system', content }, ...messages.slice(at)];
}

function asRuntimeError(error: unknown): CopilotRuntimeError {
  if (error instanceof CopilotRuntimeError) return error;
  return new CopilotRuntimeError('UNKNOWN', 'The run failed unexpectedly.', { cause: error });
}
