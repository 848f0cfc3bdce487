import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from './bootstrap.js';
import { InvalidEnvironmentError, parseEnvironment } from './config/environment.js';

async function main(): Promise<void> {
  const env = parseEnvironment();
  const app = await createApp(env);
  await app.listen(env.PORT, env.HOST);
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
