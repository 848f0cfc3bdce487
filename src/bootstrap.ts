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
  // CORS is the runtime's own (edges/cors.middleware.ts, CORS_ORIGINS): deny by default.
  if (env.TRUST_PROXY) app.set('trust proxy', trustProxyValue(env.TRUST_PROXY));
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  return app;
}

/** Express's `trust proxy` setting from its text: `true`/`false`, a hop count, or addresses. */
function trustProxyValue(text: string): boolean | number | string {
  if (text === 'true' || text === 'false') return text === 'true';
  return /^\d+$/.test(text) ? Number(text) : text;
}

