import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { Injectable, Logger } from '@nestjs/common';
import { ActionExecutor } from '../actions/action-executor.js';
import { ActionRegistry } from '../actions/action-registry.js';
import type { ActionContext } from '../actions/server-action.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { RequestContext } from '../common/request-context.js';
import type { ToolChoice } from '../llm/chat-turn.js';
import { ChatModelResolver, type ResolvedChatModel } from '../llm/chat-model-resolver.js';
import { LangChainChatEngine } from '../llm/langchain-chat-engine.js';
import { ConversationWriter } from '../persistence/conversation-writer.js';
import type { RunStatus, TokenUsage } from '../persistence/conversation-store.js';
import { EventLoopFairness } from './event-loop-fairness.js';
import { MessageAssembler } from './message-assembler.js';
import type { RunHandle } from './run-handle.js';
import type { ContextItem, ForwardedParameters, RunRequest } from './run-request.js';
import { ToolCatalog } from './tool-catalog.js';

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
    private readonly writer: ConversationWriter,
  ) {}

  /** Validates the request (throwing before anything streams) and returns the run, not yet started. */
  startRun(ctx: RequestContext, request: RunRequest): RunHandle {
    const catalog = new ToolCatalog(this.actions.list(), request.frontendTools);
    const choice = toolChoice(request.forwardedParameters, catalog);
    return {
      threadId: request.threadId,
      runId: request.runId,
      events: this.execute(ctx, request, catalog, choice),
    };
  }

  private async *execute(
    ctx: RequestContext,
    request: RunRequest,
    catalog: ToolCatalog,
    choice: ToolChoice | undefined,
  ): AsyncGenerator<BaseEvent> {
    const { threadId, runId } = request;
    const startedAt = new Date();
    const assembler = new MessageAssembler();
    const fairness = new EventLoopFairness();
    let status: Exclude<RunStatus, 'running'> = 'succeeded';
    /** True once RUN_FINISHED is handed out; a consumer that stops iterating before that stopped the run. */
    let reachedEnd = false;
    let failure: CopilotRuntimeError | null = null;
    let usage: TokenUsage | null = null;

    const emit = (event: Record<string, unknown> & { type: EventType }): BaseEvent => {
      const stamped = { timestamp: Date.now(), ...event } as BaseEvent;
      assembler.apply(stamped);
      return stamped;
    };

    const settings = modelSettings(request.forwardedParameters);
    let resolved: ResolvedChatModel | null = null;
    let unresolved: unknown = null;
    try {
      resolved = this.models.resolve(settings);
    } catch (error) {
      unresolved = error;
    }
    // Recorded before the first event, so a run abandoned right after RUN_STARTED still has its row.
    this.writer.runStarted({
      runId,
      threadId,
      ownerId: ctx.identity.id,
      agentName: null,
      model: resolved?.modelName ?? null,
      startedAt,
      inputMessages: request.messages,
    });

    try {
      yield emit({ type: EventType.RUN_STARTED, threadId, runId });
      if (!resolved) throw unresolved;

      const turn = this.engine.streamChatTurn(
        resolved.model,
        {
          threadId,
          runId,
          messages: withContext(request.messages, request.context),
          tools: catalog.tools,
          toolChoice: choice,
          settings,
          signal: ctx.signal,
        },
        resolved.errorContext,
      );

      const argsByCall = new Map<string, string>();
      const namesByCall = new Map<string, string>();
      const pending: PendingAction[] = [];
      const actionContext: ActionContext = {
        threadId,
        runId,
        identity: ctx.identity,
        properties: request.properties,
        signal: ctx.signal,
      };

      for await (const event of turn.events) {
        const e = event as BaseEvent & Record<string, any>;
        if (e.type === EventType.TOOL_CALL_START) {
          namesByCall.set(e.toolCallId, e.toolCallName);
          argsByCall.set(e.toolCallId, '');
        } else if (e.type === EventType.TOOL_CALL_ARGS) {
          argsByCall.set(e.toolCallId, (argsByCall.get(e.toolCallId) ?? '') + e.delta);
        }
        yield emit(e);
        if (e.type === EventType.TOOL_CALL_END) {
          const actionName = namesByCall.get(e.toolCallId) ?? '';
          const action = catalog.serverAction(actionName);
          if (action) {
            // Started now, awaited after the model stream: several calls in one turn run concurrently.
            const result = this.executor.execute(action, argsByCall.get(e.toolCallId) ?? '', actionContext);
            pending.push({ toolCallId: e.toolCallId, actionName, result });
          }
        }
        await fairness.yieldIfBusy();
      }
      usage = turn.usage();

      for (const action of pending) {
        const content = await action.result;
        yield emit({
          type: EventType.TOOL_CALL_RESULT,
          messageId: `result-${action.toolCallId}`,
          toolCallId: action.toolCallId,
          toolCallName: action.actionName,
          content,
          role: 'tool',
        });
      }

      if (ctx.signal.aborted) {
        status = 'stopped';
        return;
      }
      reachedEnd = true;
      yield emit({ type: EventType.RUN_FINISHED, threadId, runId });
    } catch (error) {
      if (ctx.signal.aborted) {
        status = 'stopped';
        return;
      }
      status = 'failed';
      reachedEnd = true;
      failure = asRuntimeError(error);
      const errorId = newId('err');
      this.logRunError(failure, errorId, runId, threadId);
      yield emit({ type: EventType.RUN_ERROR, message: failure.message, code: failure.code, errorId });
    } finally {
      // Reached also when the consumer stops iterating early (client gone): that is a stop, even
      // when the abort signal has not fired yet.
      if (status === 'succeeded' && !reachedEnd) status = 'stopped';
      this.writer.runFinished({
        runId,
        threadId,
        status,
        finishedAt: new Date(),
        error: failure ? { code: failure.code, message: failure.message } : null,
        usage,
        outputMessages: assembler.result(),
      });
      this.logger.debug(
        `run ${runId} on thread ${threadId} ${status} in ${Date.now() - startedAt.getTime()} ms`,
      );
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
