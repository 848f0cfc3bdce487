import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Probes and scrapes: not worth a trace each. */
const UNTRACED_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);

let active: NodeTracerProvider | null = null;

/** Whether startTracing registered a tracer provider in this process. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * Traces, off unless the standard OpenTelemetry variables ask for them: an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`. The exporter (OTLP over HTTP) reads the
 * rest of the `OTEL_*` variables itself (headers, timeout, batch delays); `OTEL_SERVICE_NAME`
 * names the service (default `copilot-runtime`). Registers the W3C trace-context propagator and
 * the AsyncLocalStorage context manager, and instruments HTTP (server spans, an inbound
 * `traceparent` honoured), pg (database spans) and undici (fetch: HTTP agents, remote endpoints,
 * MCP over HTTP and model providers get a `traceparent`).
 *
 * Call it before the application is created (main.ts does, before importing it), so that the
 * HTTP server and the pg driver are instrumented from their first use.
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env): { shutdown(): Promise<void> } | null {
  if (active) return { shutdown: () => shutdownTracing() };
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return null;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'copilot-runtime' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '/').split('?')[0]!),
        // Only outgoing requests of a traced operation: no root spans of their own.
        requireParentforOutgoingSpans: true,
      }),
      new PgInstrumentation({ requireParentSpan: true }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  active = provider;
  return { shutdown: () => shutdownTracing() };
}

/** Flushes the spans still queued and stops exporting (the end of the process). */
export async function shutdownTracing(): Promise<void> {
  const provider = active;
  active = null;
  await provider?.shutdown();
}
