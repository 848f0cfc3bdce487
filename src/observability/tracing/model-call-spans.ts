import { type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { Serialized } from '@langchain/core/load/serializable';
import type { BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import { RUN_ID_METADATA_KEY } from '../../llm/chat-turn.js';
import { isContentChunk, modelOf, usageOf } from '../model-call-metrics.js';
import { type RunSpans, TRACER_NAME } from './run-spans.js';

interface OpenCall {
  span: Span;
  startedAt: number;
  firstTokenSeen: boolean;
}

/**
 * A `chat` span per model call (GenAI semantic conventions), from LangChain's callbacks on every
 * resolved chat model: provider, request and response model, input/output tokens, finish
 * reasons, and the time to the first token (`gen_ai.response.time_to_first_chunk`, seconds, plus
 * a `gen_ai.first_token` event). Its parent is the run's `invoke_agent` span.
 */
export class ModelCallSpans extends BaseCallbackHandler {
  readonly name = 'copilot-runtime-model-spans';
  override awaitHandlers = true;
  private readonly calls = new Map<string, OpenCall>();

  constructor(private readonly runs: RunSpans) {
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
    const { provider, model } = modelOf(llm, extraParams, metadata);
    const invocation = (extraParams?.invocation_params ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string | number> = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': provider,
      'gen_ai.system': provider,
      'gen_ai.request.model': model,
    };
    if (typeof invocation.temperature === 'number') attributes['gen_ai.request.temperature'] = invocation.temperature;
    const maxTokens = invocation.max_tokens ?? invocation.max_completion_tokens;
    if (typeof maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = maxTokens;
    const span = trace
      .getTracer(TRACER_NAME)
      .startSpan(`chat ${model}`, { kind: SpanKind.CLIENT, attributes }, this.runs.contextOf(runIdOf(metadata)));
    this.calls.set(runId, { span, startedAt: performance.now(), firstTokenSeen: false });
  }

  override handleLLMNewToken(token: string, _idx: unknown, runId: string, _parent?: string, _tags?: string[], fields?: { chunk?: unknown }): void {
    const call = this.calls.get(runId);
    if (!call || call.firstTokenSeen || !isContentChunk(token, fields)) return;
    call.firstTokenSeen = true;
    const seconds = (performance.now() - call.startedAt) / 1000;
    call.span.setAttribute('gen_ai.response.time_to_first_chunk', seconds);
    call.span.addEvent('gen_ai.first_token');
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const call = this.calls.get(runId);
    if (!call) return;
    this.calls.delete(runId);
    const usage = usageOf(output);
    if (usage) {
      call.span.setAttribute('gen_ai.usage.input_tokens', usage.input);
      call.span.setAttribute('gen_ai.usage.output_tokens', usage.output);
    }
    const generation = output.generations?.[0]?.[0] as
      | { generationInfo?: Record<string, unknown>; message?: { response_metadata?: Record<string, unknown> } }
      | undefined;
    const metadata = { ...(generation?.message?.response_metadata ?? {}), ...(generation?.generationInfo ?? {}) };
    const finish = metadata.finish_reason ?? metadata.stop_reason;
    if (typeof finish === 'string') call.span.setAttribute('gen_ai.response.finish_reasons', [finish]);
    const responseModel = metadata.model_name ?? metadata.model;
    if (typeof responseModel === 'string') call.span.setAttribute('gen_ai.response.model', responseModel);
    call.span.end();
  }

  override handleLLMError(error: unknown, runId: string): void {
    const call = this.calls.get(runId);
    if (!call) return;
    this.calls.delete(runId);
    call.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    call.span.setAttribute('error.type', error instanceof Error ? error.name : 'error');
    call.span.end();
  }
}

/** The copilot run a model call belongs to: the engine names it in the call's metadata. */
function runIdOf(metadata: Record<string, unknown> | undefined): string | undefined {
  const runId = metadata?.[RUN_ID_METADATA_KEY];
  return typeof runId === 'string' ? runId : undefined;
}
