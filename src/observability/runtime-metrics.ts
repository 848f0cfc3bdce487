import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseProbe } from '../ports/database-probe.js';
import { eventLogStats } from '../runs/event-log-stats.js';

/** What the gauges read at scrape time (nothing on the hot path). */
export interface MetricSources {
  activeRuns(): number;
  database: DatabaseProbe | null;
}

/** Seconds: a first token within 50 ms (a local model) up to a minute (a loaded provider). */
const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
/** Seconds: a one-line answer up to the longest agent runs (default total limit 600 s). */
const RUN_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const TOOL_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60];
/** Seconds: one batched INSERT, from a local database (~1 ms) to a struggling one. */
const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/**
 * Every metric of the runtime, in its own prom-client Registry (one per application: two apps in
 * one process never mix). Labels are bounded sets (agents, models, statuses, transports, tool
 * sources): never a thread, run, user or token. README "Operations" lists them;
 * deploy/grafana/copilot-runtime.json charts them.
 */
export class RuntimeMetrics {
  readonly registry = new Registry();

  readonly runsStarted = new Counter({
    name: 'copilot_runs_started_total',
    help: 'Runs admitted past the run policy stages, by agent and protocol.',
    labelNames: ['agent', 'protocol'] as const,
    registers: [this.registry],
  });
  readonly runsFinished = new Counter({
    name: 'copilot_runs_finished_total',
    help: 'Runs ended, by agent, protocol and status (succeeded, failed, stopped, refused: could not start).',
    labelNames: ['agent', 'protocol', 'status'] as const,
    registers: [this.registry],
  });
  readonly runErrors = new Counter({
    name: 'copilot_run_errors_total',
    help: 'Runs that failed or could not start, by agent and error code.',
    labelNames: ['agent', 'code'] as const,
    registers: [this.registry],
  });
  readonly runsRefused = new Counter({
    name: 'copilot_runs_refused_total',
    help: 'Runs refused by a run policy stage before they started (rate limits, guardrails, drain), by agent, stage and code.',
    labelNames: ['agent', 'stage', 'code'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'copilot_run_duration_seconds',
    help: 'Run duration from admission to its recorded end, by agent and status.',
    labelNames: ['agent', 'status'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  readonly openStreams = new Gauge({
    name: 'copilot_open_streams',
    help: 'Streaming responses and WebSocket connections open, by transport (v1_http, v2_sse, websocket).',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly modelCalls = new Counter({
    name: 'copilot_llm_calls_total',
    help: 'Model calls, by provider, model and outcome (ok, error).',
    labelNames: ['provider', 'model', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly timeToFirstToken = new Histogram({
    name: 'copilot_llm_time_to_first_token_seconds',
    help: 'From the start of a model call to its first streamed token, by provider and model.',
    labelNames: ['provider', 'model'] as const,
    buckets: TTFT_BUCKETS,
    registers: [this.registry],
  });
  readonly modelCallDuration = new Histogram({
    name: 'copilot_llm_call_duration_seconds',
    help: 'Whole model calls, by provider and model.',
    labelNames: ['provider', 'model'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'copilot_llm_tokens_total',
    help: 'Tokens reported by the provider, by provider, model and kind (input, output).',
    labelNames: ['provider', 'model', 'kind'] as const,
    registers: [this.registry],
  });
  readonly toolCalls = new Counter({
    name: 'copilot_tool_calls_total',
    help: 'Server-side tool calls, by tool source and outcome (ok, error: a failure result or a throw).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly toolDuration = new Histogram({
    name: 'copilot_tool_call_duration_seconds',
    help: 'Server-side tool call duration, by tool source.',
    labelNames: ['source'] as const,
    buckets: TOOL_BUCKETS,
    registers: [this.registry],
  });
  readonly eventLogFlush = new Histogram({
    name: 'copilot_event_log_flush_seconds',
    help: 'Latency of one successful append of a batch of run events to the event log.',
    buckets: FLUSH_BUCKETS,
    registers: [this.registry],
  });
  readonly eventLogEvents = new Counter({
    name: 'copilot_event_log_events_written_total',
    help: 'Run events appended to the event log.',
    registers: [this.registry],
  });
  readonly unhandledRejections = new Counter({
    name: 'copilot_unhandled_rejections_total',
    help: 'Promise rejections nobody handled, logged by the server process instead of ending it (each one is a bug to report).',
    registers: [this.registry],
  });

  constructor(sources: MetricSources, options: { defaultMetrics?: boolean } = {}) {
    new Gauge({
      name: 'copilot_active_runs',
      help: 'Runs this instance is admitting or running.',
      registers: [this.registry],
      collect() {
        this.set(sources.activeRuns());
      },
    });
    new Gauge({
      name: 'copilot_event_log_queue_depth',
      help: 'Run events held in memory, not yet in the event log (all runs of this instance).',
      registers: [this.registry],
      collect() {
        this.set(eventLogStats.queueDepth());
      },
    });
    const database = sources.database;
    new Gauge({
      name: 'copilot_db_pool_connections',
      help: 'Database pool connections, by state (in_use, idle).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = database?.poolStats();
        if (!stats) return;
        this.set({ state: 'in_use' }, stats.total - stats.idle);
        this.set({ state: 'idle' }, stats.idle);
      },
    });
    new Gauge({
      name: 'copilot_db_pool_waiting',
      help: 'Callers waiting for a database pool connection.',
      registers: [this.registry],
      collect() {
        const stats = database?.poolStats();
        if (stats) this.set(stats.waiting);
      },
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
