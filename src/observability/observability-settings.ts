import type { CopilotRuntimeOptions } from '../config/runtime-options.js';

export const METRICS_SETTINGS = Symbol('METRICS_SETTINGS');

/** `metrics` of the module options, resolved. */
export interface MetricsSettings {
  enabled: boolean;
  token?: string;
  port?: number;
  host: string;
  defaultMetrics: boolean;
}

export function metricsSettings(options: CopilotRuntimeOptions): MetricsSettings {
  const metrics = options.metrics ?? {};
  if (metrics.port !== undefined && (!Number.isInteger(metrics.port) || metrics.port < 0 || metrics.port > 65535)) {
    throw new Error(`metrics.port must be a port number, got ${JSON.stringify(metrics.port)}`);
  }
  const token = metrics.token?.trim() || undefined;
  return {
    enabled: metrics.enabled ?? (token !== undefined || metrics.port !== undefined),
    token,
    port: metrics.port,
    host: metrics.host ?? '0.0.0.0',
    defaultMetrics: metrics.defaultMetrics ?? true,
  };
}
