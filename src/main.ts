import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { InvalidEnvironmentError, parseEnvironment } from './config/environment.js';
import { UnhandledRejectionGuard } from './observability/process-faults.js';
import { startTracing } from './observability/tracing/tracing-setup.js';

async function main(): Promise<void> {
  // First: a library's stray rejection is logged, not fatal (logged through the app's logger once it exists).
  const rejections = new UnhandledRejectionGuard().install();
  const env = parseEnvironment();
  // Before the application is imported: HTTP and pg are instrumented from their first use.
  startTracing(process.env);
  const { createApp } = await import('./bootstrap.js');
  const { RuntimeMetrics } = await import('./observability/runtime-metrics.js');
  const app = await createApp(env);
  rejections.countWith(app.get(RuntimeMetrics, { strict: false })?.unhandledRejections ?? null);
  // Nest hands extra arguments to http.Server#listen(port, host, backlog); its type names only two.
  const listen = app.listen.bind(app) as unknown as (port: number, host: string, backlog: number) => Promise<unknown>;
  await listen(env.PORT, env.HOST, env.LISTEN_BACKLOG);
  // The bound port, not the configured one: PORT=0 picks a free port (tests, local replicas).
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('Bootstrap').log(`CopilotKit runtime listening on http://${env.HOST}:${port}${env.COPILOTKIT_PATH}`);
}

main().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError) {
    console.error(error.message);
  } else {
    console.error('The server failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
