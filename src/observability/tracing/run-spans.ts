import { context, type Context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RunEnd, RunPolicyStage, RunScope } from '../../runtime/run-policy.js';

export const TRACER_NAME = 'copilot-runtime';

const MAX_OPEN_RUN_SPANS = 10_000;

/**
 * The `invoke_agent` span of each run of this process (GenAI semantic conventions), by run id:
 * the parent of the run's `chat` and `execute_tool` spans, which find it through the run id they
 * know (the LogContext's, a tool call's context) since the run's work is not started inside it.
 */
export class RunSpans {
  private readonly spans = new Map<string, Span>();

  /**
   * Bounded: a run refused after this stage (its agent's input check) is heard of by neither
   * afterRun nor onRunError; the oldest such span is ended, marked, when the map is full.
   */
  start(runId: string, span: Span): void {
    this.spans.set(runId, span);
    if (this.spans.size <= MAX_OPEN_RUN_SPANS) return;
    const [oldestId, oldest] = this.spans.entries().next().value!;
    this.spans.delete(oldestId);
    oldest.setAttribute('copilotkit.run.status', 'unknown');
    oldest.end();
  }

  /** The context whose parent is the run's span, or the active one. */
  contextOf(runId: string | undefined): Context {
    const span = runId === undefined ? undefined : this.spans.get(runId);
    return span ? trace.setSpan(context.active(), span) : context.active();
  }

  take(runId: string): Span | undefined {
    const span = this.spans.get(runId);
    this.spans.delete(runId);
    return span;
  }
}

/**
 * Starts the run's `invoke_agent` span before the run (a child of the request's span: HTTP, or
 * the WebSocket operation's context) and ends it once the run is recorded, with its outcome.
 * After every other stage (only metrics comes later): a run refused by a stage has no run span
 * (its request's span carries the error), and every span started hears how its run ended.
 */
export class RunTracingStage implements RunPolicyStage {
  readonly name = 'tracing';
  readonly order = 999_999;

  constructor(private readonly spans: RunSpans) {}

  beforeRun(run: RunScope): void {
    const span = trace.getTracer(TRACER_NAME).startSpan(
      `invoke_agent ${run.agentId}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'invoke_agent',
          'gen_ai.agent.id': run.agentId,
          'gen_ai.agent.name': run.agentId,
          'gen_ai.conversation.id': run.threadId,
          'copilotkit.thread.id': run.threadId,
          'copilotkit.run.id': run.runId,
          'copilotkit.protocol': run.protocol,
          'enduser.id': run.ctx.identity.id,
          'copilotkit.request.id': run.ctx.requestId,
        },
      },
      context.active(),
    );
    this.spans.start(run.runId, span);
  }

  afterRun(run: RunScope, end: RunEnd): void {
    const span = this.spans.take(run.runId);
    if (!span) return;
    span.setAttribute('copilotkit.run.status', end.status);
    if (end.usage?.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', end.usage.inputTokens);
    if (end.usage?.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', end.usage.outputTokens);
    if (end.status === 'failed') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: end.error?.message });
      if (end.error) span.setAttribute('error.type', end.error.code);
    }
    span.end(end.finishedAt);
  }

  onRunError(run: RunScope, error: { code: string; message: string }): void {
    // Still open: the run could not start (afterRun ends the ones that ran).
    const span = this.spans.take(run.runId);
    if (!span) return;
    span.setAttribute('error.type', error.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end();
  }
}
