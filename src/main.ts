import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap.js';
import { InvalidEnvironmentError, parseEnvironment } from './config/environment.js';

async function main(): Promise<void> {
  const env = parseEnvironment();
  const app = await createApp(env);
  await app.listen(env.PORT, env.HOST);
  new Logger('Bootstrap').log(`CopilotKit runtime listening on http://${env.HOST}:${env.PORT}${env.COPILOTKIT_PATH}`);
}

main().catch((error: unknown) => {
  if (error instanceof InvalidEnvironmentError) {
    console.error(error.message);
  } else {
    console.error('The server failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
