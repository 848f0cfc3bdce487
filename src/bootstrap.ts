import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import type { Environment } from './config/environment.js';

/** Builds the standalone application (used by main.ts, the end-to-end tests and the benchmark). */
export async function createApp(env: Environment): Promise<INestApplication> {
  const logger = new ConsoleLogger({
    json: env.LOG_FORMAT === 'json',
    logLevels: levelsFrom(env.LOG_LEVEL),
  });
  // bodyParser off: the runtime parses its own bodies with the configured limit and precise errors.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forEnvironment(env), {
    bodyParser: false,
    logger,
  });
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

const ORDER = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

function levelsFrom(level: Environment['LOG_LEVEL']) {
  return ORDER.slice(0, ORDER.indexOf(level) + 1) as unknown as (typeof ORDER)[number][];
}
