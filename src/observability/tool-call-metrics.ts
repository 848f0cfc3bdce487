import { isFailureOutcome, type ObservedToolCall, type ToolCallObserver } from '../tools/tool-call-observer.js';
import type { ToolOutcome } from '../tools/tool-source.js';
import type { RuntimeMetrics } from './runtime-metrics.js';

/** Server tool calls by source and outcome, and their duration (labels: the source's name only). */
export class ToolCallMetrics implements ToolCallObserver {
  constructor(private readonly metrics: RuntimeMetrics) {}

  async observe(call: ObservedToolCall, execute: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
    const started = performance.now();
    let outcome: 'ok' | 'error' = 'error';
    try {
      const result = await execute();
      outcome = isFailureOutcome(result) ? 'error' : 'ok';
      return result;
    } finally {
      this.metrics.toolCalls.inc({ source: call.source, outcome });
      this.metrics.toolDuration.observe({ source: call.source }, (performance.now() - started) / 1000);
    }
  }
}
