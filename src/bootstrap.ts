import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import type { Environment } from './config/environment.js';
import { httpLogging } from './observability/logging/http-logging.js';
import { NestPinoLogger } from './observability/logging/nest-pino-logger.js';
import { createRootLogger } from './observability/logging/root-logger.js';
import { secretsOf } from './observability/logging/secret-scrubber.js';

/** Builds the standalone application (used by main.ts, the end-to-end tests and the benchmark). */
export async function createApp(env: Environment, source: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  // Structured logs (pino): one JSON object per line, or pino-pretty with LOG_FORMAT=text; secret
  // values of the environment are scrubbed from every line.
  const root = createRootLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, secrets: secretsOf(source) });
  // bodyParser off: the runtime parses its own bodies with the configured limit and precise errors.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forEnvironment(env), {
    bodyParser: false,
    logger: new NestPinoLogger(root),
  });
  // First of all middleware: the request id and the log context of everything after it.
  app.use(httpLogging(root));
  app.enableCors({
    origin: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(',').map((origin) => origin.trim()) : true,
    credentials: true,
    exposedHeaders: ['x-copilotkit-runtime-version', 'x-request-id'],
  });
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  return app;
}
