import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { isFailureOutcome, type ObservedToolCall, type ToolCallObserver } from '../../tools/tool-call-observer.js';
import type { ToolOutcome } from '../../tools/tool-source.js';
import { type RunSpans, TRACER_NAME } from './run-spans.js';

/**
 * An `execute_tool` span per server-side tool call (server actions, MCP, remote endpoints, state
 * tools), a child of the run's `invoke_agent` span. The tool runs inside it, so an HTTP call it
 * makes (MCP over HTTP, a remote endpoint) carries this span as its `traceparent`.
 */
export class ToolCallSpans implements ToolCallObserver {
  constructor(private readonly runs: RunSpans) {}

  async observe(call: ObservedToolCall, execute: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
    const span = trace.getTracer(TRACER_NAME).startSpan(
      `execute_tool ${call.tool}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': call.tool,
          'gen_ai.tool.call.id': call.context.toolCallId,
          'gen_ai.tool.type': 'function',
          'copilotkit.tool.source': call.source,
          'copilotkit.run.id': call.context.runId,
        },
      },
      this.runs.contextOf(call.context.runId),
    );
    try {
      const outcome = await context.with(trace.setSpan(context.active(), span), execute);
      if (isFailureOutcome(outcome)) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the tool reported a failure' });
      return outcome;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  }
}

/** Several observers around one call, the first outermost. */
export function chainToolObservers(observers: ToolCallObserver[]): ToolCallObserver | null {
  if (observers.length === 0) return null;
  if (observers.length === 1) return observers[0]!;
  return {
    observe: (call, execute) =>
      observers.reduceRight<() => Promise<ToolOutcome>>((next, observer) => () => observer.observe(call, next), execute)(),
  };
}
