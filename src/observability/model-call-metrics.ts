import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { Serialized } from '@langchain/core/load/serializable';
import type { BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import type { RuntimeMetrics } from './runtime-metrics.js';

interface CallInFlight {
  provider: string;
  model: string;
  startedAt: number;
  firstTokenSeen: boolean;
}

/** What LangChain tells a handler about the model (its `ls_*` tracing metadata, its invocation params). */
export function modelOf(llm: Serialized, extraParams?: Record<string, unknown>, metadata?: Record<string, unknown>): { provider: string; model: string } {
  const invocation = (extraParams?.invocation_params ?? {}) as Record<string, unknown>;
  const provider = stringOr(metadata?.ls_provider, llm.id?.at(-1)?.replace(/^Chat/, '').toLowerCase() ?? 'unknown');
  const model = stringOr(metadata?.ls_model_name, stringOr(invocation.model, stringOr(invocation.model_name, 'unknown')));
  return { provider, model };
}

/** Input and output tokens of a finished call, where the provider reported them. */
export function usageOf(output: LLMResult): { input: number; output: number } | null {
  const message = (output.generations?.[0]?.[0] as { message?: { usage_metadata?: { input_tokens?: number; output_tokens?: number } } } | undefined)?.message;
  const usage = message?.usage_metadata;
  if (usage) return { input: usage.input_tokens ?? 0, output: usage.output_tokens ?? 0 };
  const tokenUsage = output.llmOutput?.tokenUsage as { promptTokens?: number; completionTokens?: number } | undefined;
  if (tokenUsage) return { input: tokenUsage.promptTokens ?? 0, output: tokenUsage.completionTokens ?? 0 };
  return null;
}

/** Whether a streamed chunk carries content: text, or the start of a tool call. */
export function isContentChunk(token: string, fields?: { chunk?: unknown }): boolean {
  if (token !== '') return true;
  const message = (fields?.chunk as { message?: { tool_call_chunks?: unknown[] } } | undefined)?.message;
  return (message?.tool_call_chunks?.length ?? 0) > 0;
}

/**
 * Model-call metrics from LangChain's callbacks, attached to every resolved chat model: calls by
 * outcome, time to first token, duration and tokens, labelled by provider and model only.
 * Inline (`awaitHandlers`): a few map operations per call, cheaper than LangChain's queue.
 */
export class ModelCallMetrics extends BaseCallbackHandler {
  readonly name = 'copilot-runtime-model-metrics';
  override awaitHandlers = true;
  private readonly calls = new Map<string, CallInFlight>();

  constructor(private readonly metrics: RuntimeMetrics) {
    super();
  }

  override handleChatModelStart(
    llm: Serialized,
    _messages: BaseMessage[][],
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    this.calls.set(runId, { ...modelOf(llm, extraParams, metadata), startedAt: performance.now(), firstTokenSeen: false });
  }

  override handleLLMNewToken(token: string, _idx: unknown, runId: string, _parent?: string, _tags?: string[], fields?: { chunk?: unknown }): void {
    const call = this.calls.get(runId);
    if (!call || call.firstTokenSeen || !isContentChunk(token, fields)) return;
    call.firstTokenSeen = true;
    this.metrics.timeToFirstToken.observe({ provider: call.provider, model: call.model }, (performance.now() - call.startedAt) / 1000);
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const call = this.end(runId, 'ok');
    if (!call) return;
    const usage = usageOf(output);
    if (!usage) return;
    const labels = { provider: call.provider, model: call.model };
    if (usage.input) this.metrics.tokens.inc({ ...labels, kind: 'input' }, usage.input);
    if (usage.output) this.metrics.tokens.inc({ ...labels, kind: 'output' }, usage.output);
  }

  override handleLLMError(_error: unknown, runId: string): void {
    this.end(runId, 'error');
  }

  private end(runId: string, outcome: 'ok' | 'error'): CallInFlight | null {
    const call = this.calls.get(runId);
    if (!call) return null;
    this.calls.delete(runId);
    const labels = { provider: call.provider, model: call.model };
    this.metrics.modelCalls.inc({ ...labels, outcome });
    this.metrics.modelCallDuration.observe(labels, (performance.now() - call.startedAt) / 1000);
    return call;
  }
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}
