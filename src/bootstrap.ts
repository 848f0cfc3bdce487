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
  app.enableCors({
    origin: env.CORS_ORIGINS ? env.CORS_ORIGINS.split(',').map((origin) => origin.trim()) : true,
    credentials: true,
    exposedHeaders: ['x-copilotkit-runtime-version'],
  });
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  return app;
}

const ORDER = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

function levelsFrom(level: Environment['LOG_LEVEL']) {
  return ORDER.slice(0, ORDER.indexOf(level) + 1) as unknown as (typeof ORDER)[number][];
}
