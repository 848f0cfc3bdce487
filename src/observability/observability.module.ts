import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CHAT_MODEL_CALLBACKS } from '../llm/chat-model-callbacks.js';
import { PostgresDatabaseProbe } from '../persistence/database-probe.js';
import { DatabaseProbe } from '../ports/database-probe.js';
import { AGENT_RUNNER } from '../runs/agent-runner.js';
import { eventLogStats, type EventLogAppendObserver } from '../runs/event-log-stats.js';
import { CopilotRunPolicy } from '../runtime/run-policy.js';
import { TOOL_CALL_OBSERVER } from '../tools/tool-call-observer.js';
import { LogContextStage } from './logging/log-context.policy.js';
import { MetricsController, MetricsServer } from './metrics-endpoint.js';
import { ModelCallMetrics } from './model-call-metrics.js';
import { METRICS_SETTINGS, type MetricsSettings, metricsSettings } from './observability-settings.js';
import { RunMetricsStage } from './run-metrics.policy.js';
import { RuntimeMetrics } from './runtime-metrics.js';
import { watchStreams } from './stream-metrics.js';
import { ToolCallMetrics } from './tool-call-metrics.js';
import { ModelCallSpans } from './tracing/model-call-spans.js';
import { RunSpans, RunTracingStage } from './tracing/run-spans.js';
import { chainToolObservers, ToolCallSpans } from './tracing/tool-call-spans.js';
import { shutdownTracing, tracingEnabled } from './tracing/tracing-setup.js';

/** Discovered by RunPolicies like any `@CopilotRunPolicy()` provider. */
@CopilotRunPolicy()
class RunMetricsPolicy extends RunMetricsStage {}

/** Discovered by RunPolicies like any `@CopilotRunPolicy()` provider. */
@CopilotRunPolicy()
class RunTracingPolicy extends RunTracingStage {}

/** Exports the spans still queued when the application closes. */
@Injectable()
class TracingLifecycle implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    if (tracingEnabled()) await shutdownTracing();
  }
}

/** Hooks metrics onto what has no DI seam: the HTTP server's streams, the event-log writers, the metrics port. */
@Injectable()
class MetricsLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private unwatch: (() => void) | null = null;
  private appendObserver: EventLogAppendObserver | null = null;
  private server: MetricsServer | null = null;

  constructor(
    @Inject(METRICS_SETTINGS) private readonly settings: MetricsSettings,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(RuntimeMetrics) private readonly metrics?: RuntimeMetrics | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const metrics = this.metrics;
    if (!metrics) return;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (server) this.unwatch = watchStreams(server, metrics.openStreams);
    this.appendObserver = (seconds, events) => {
      metrics.eventLogFlush.observe(seconds);
      metrics.eventLogEvents.inc(events);
    };
    eventLogStats.observeAppends(this.appendObserver);
    if (this.settings.port !== undefined) {
      this.server = new MetricsServer(metrics);
      const port = await this.server.listen(this.settings.port, this.settings.host);
      this.logger.log(`Metrics on http://${this.settings.host}:${port}/metrics`);
    } else if (this.settings.token) {
      this.logger.log('Metrics on GET /metrics (Authorization: Bearer <METRICS_TOKEN>)');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.unwatch?.();
    this.unwatch = null;
    // Process-wide: only if it is still ours (another app of this process may have replaced it).
    if (this.appendObserver) eventLogStats.observeAppendsIfCurrent(this.appendObserver, null);
    await this.server?.close();
    this.server = null;
  }
}

/**
 * Metrics (Prometheus, prom-client) and traces (OpenTelemetry, when main.ts started them), wired through the runtime's seams: a run policy stage (runs),
 * LangChain callbacks on every resolved chat model (model calls), an observer of server tool
 * calls (tools), the event-log writers' stats, the HTTP server's streams, the database pool.
 * Global: RuntimeModule's ToolSources and LlmModule's resolver inject the optional observers.
 * Everything is absent when metrics are off (no stage, no callbacks, no wrapping).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    { provide: METRICS_SETTINGS, inject: [RUNTIME_OPTIONS], useFactory: (options: CopilotRuntimeOptions) => metricsSettings(options) },
    { provide: DatabaseProbe, useClass: PostgresDatabaseProbe },
    {
      provide: RuntimeMetrics,
      inject: [METRICS_SETTINGS, AGENT_RUNNER, DatabaseProbe],
      useFactory: (settings: MetricsSettings, runner: { activeRunCount?: number }, database: DatabaseProbe) =>
        settings.enabled
          ? new RuntimeMetrics({ activeRuns: () => runner.activeRunCount ?? 0, database }, { defaultMetrics: settings.defaultMetrics })
          : null,
    },
    {
      provide: RunMetricsPolicy,
      inject: [RuntimeMetrics],
      useFactory: (metrics: RuntimeMetrics | null) => (metrics ? new RunMetricsPolicy(metrics) : null),
    },
    // Traces: only when startTracing (main.ts, from the OTEL_* variables) registered a provider.
    { provide: RunSpans, useFactory: () => (tracingEnabled() ? new RunSpans() : null) },
    {
      provide: RunTracingPolicy,
      inject: [RunSpans],
      useFactory: (spans: RunSpans | null) => (spans ? new RunTracingPolicy(spans) : null),
    },
    {
      provide: CHAT_MODEL_CALLBACKS,
      inject: [RuntimeMetrics, RunSpans],
      useFactory: (metrics: RuntimeMetrics | null, spans: RunSpans | null) => [
        ...(metrics ? [new ModelCallMetrics(metrics)] : []),
        ...(spans ? [new ModelCallSpans(spans)] : []),
      ],
    },
    {
      provide: TOOL_CALL_OBSERVER,
      inject: [RuntimeMetrics, RunSpans],
      useFactory: (metrics: RuntimeMetrics | null, spans: RunSpans | null) =>
        chainToolObservers([...(spans ? [new ToolCallSpans(spans)] : []), ...(metrics ? [new ToolCallMetrics(metrics)] : [])]),
    },
    MetricsLifecycle,
    TracingLifecycle,
    LogContextStage,
  ],
  exports: [RuntimeMetrics, CHAT_MODEL_CALLBACKS, TOOL_CALL_OBSERVER],
})
export class ObservabilityModule {}
