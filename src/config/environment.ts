import { z } from 'zod';
import { DEFAULT_AGENT_LIMITS } from '../agents/agent-limits.js';

/**
 * Every environment variable the standalone server reads, validated once at boot. The process
 * refuses to start with a message naming the variable when a value is wrong. The README's
 * configuration table mirrors this schema.
 */
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Milliseconds where 0 means "off". An empty value is unset (coercion would read it as 0, i.e. off). */
const millisOrOff = (fallback: number) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), z.coerce.number().int().min(0).default(fallback));

const blankAsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** A whole number >= 0, or unset (no limit). */
const optionalCount = z.preprocess(blankAsUnset, z.coerce.number().int().min(0).optional());

export const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  COPILOTKIT_PATH: z
    .string()
    .default('/api/copilotkit')
    .refine((value) => value.startsWith('/'), 'must start with "/"'),
  DATABASE_URL: optionalString,
  DATABASE_POOL_SIZE: positiveInt(10),
  DATA_DIR: z.string().default('.data'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  LLM_MODEL: z.string().default('gpt-4o-mini'),
  LLM_MAX_RETRIES: z.coerce.number().int().min(0).default(2),
  LLM_TIMEOUT_MS: positiveInt(120_000),
  BODY_LIMIT: z
    .string()
    .default('2mb')
    .refine((value) => /^\d+(b|kb|mb)?$/i.test(value), 'must look like 512kb or 2mb'),
  STREAM_HEARTBEAT_MS: positiveInt(15_000),
  CORS_ORIGINS: optionalString,
  AUTH_JWT_SECRET: optionalString,
  AUTH_JWT_PUBLIC_KEY: optionalString,
  AUTH_JWT_ALGORITHM: z.string().default('RS256'),
  AUTH_JWT_ISSUER: optionalString,
  AUTH_JWT_AUDIENCE: optionalString,
  RUNNER: z.enum(['postgres', 'memory']).default('postgres'),
  BUSY_THREAD_POLICY: z.enum(['fail', 'queue', 'supersede']).default('fail'),
  RUN_LOCK_TTL_MS: z.coerce.number().int().min(300).default(30_000),
  PERSISTENCE_MAX_OUTAGE_MS: positiveInt(30_000),
  CLIENT_DISCONNECT: z.enum(['abort', 'continue']).default('abort'),
  THREAD_RETENTION_DAYS: z.coerce.number().positive().optional(),
  THREAD_RETENTION_MAX_THREADS: z.coerce.number().int().positive().optional(),
  /** Comma-separated header names (`x-acme-*` for a prefix): only these reach HTTP agents. */
  FORWARD_HEADERS_ALLOW: optionalString,
  /** Comma-separated header names (`x-acme-*` for a prefix) never forwarded to HTTP agents. */
  FORWARD_HEADERS_DENY: optionalString,
  AGENT_FIRST_EVENT_TIMEOUT_MS: millisOrOff(DEFAULT_AGENT_LIMITS.firstEventTimeoutMs),
  AGENT_IDLE_TIMEOUT_MS: millisOrOff(DEFAULT_AGENT_LIMITS.idleTimeoutMs),
  AGENT_TOTAL_TIMEOUT_MS: millisOrOff(DEFAULT_AGENT_LIMITS.totalTimeoutMs),
  /** Model calls of one v2 run of the built-in agent (server-side tool results go back to the model). */
  AGENT_MAX_STEPS: z.coerce.number().int().min(1).default(10),
  // Identity, limits and overload (src/auth/, src/limits/): see the README's Security section.
  AUTH_JWT_JWKS_URL: optionalString.refine((value) => value === undefined || /^https?:\/\//.test(value), 'must be an http(s) URL'),
  DATABASE_ACQUIRE_TIMEOUT_MS: positiveInt(5_000),
  RATE_LIMIT_RUNS_PER_MINUTE: optionalCount,
  RATE_LIMIT_TOKENS_PER_HOUR: optionalCount,
  RATE_LIMIT_CONCURRENT_RUNS: optionalCount,
  /** Runs of all callers at once on one instance; 0: no cap. */
  MAX_CONCURRENT_RUNS: z.preprocess(blankAsUnset, z.coerce.number().int().min(0).default(100)),
  REDIS_URL: optionalString.refine((value) => value === undefined || /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL'),
  RATE_LIMIT_REDIS_PREFIX: z.string().default('crn:limits:'),
  RATE_LIMIT_REDIS_FAILURE: z.enum(['open', 'closed']).default('open'),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  LOG_FORMAT: z.enum(['json', 'text']).default('json'),
});

export type Environment = z.infer<typeof environmentSchema>;

export class InvalidEnvironmentError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

export function parseEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const result = environmentSchema.safeParse(source);
  if (!result.success) {
    throw new InvalidEnvironmentError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}
