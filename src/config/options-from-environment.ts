import type { CopilotRuntimeOptions } from './runtime-options.js';
import type { Environment } from './environment.js';

/** The standalone server's module options, from the validated environment. */
export function optionsFromEnvironment(env: Environment): CopilotRuntimeOptions {
  return {
    path: env.COPILOTKIT_PATH,
    database: { url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE, acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS },
    llm: {
      openai: {
        apiKey: env.OPENAI_API_KEY,
        baseUrl: env.OPENAI_BASE_URL,
        model: env.LLM_MODEL,
        maxRetries: env.LLM_MAX_RETRIES,
        timeoutMs: env.LLM_TIMEOUT_MS,
      },
    },
    bodyLimit: env.BODY_LIMIT,
    heartbeatMs: env.STREAM_HEARTBEAT_MS,
    auth:
      env.AUTH_JWT_SECRET || env.AUTH_JWT_PUBLIC_KEY || env.AUTH_JWT_JWKS_URL
        ? {
            jwt: {
              secret: env.AUTH_JWT_SECRET,
              publicKey: env.AUTH_JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
              jwksUrl: env.AUTH_JWT_JWKS_URL,
              algorithm: env.AUTH_JWT_ALGORITHM,
              issuer: env.AUTH_JWT_ISSUER,
              audience: env.AUTH_JWT_AUDIENCE,
            },
          }
        : undefined,
    runs: {
      runner: env.RUNNER,
      busyThreadPolicy: env.BUSY_THREAD_POLICY,
      lockTtlMs: env.RUN_LOCK_TTL_MS,
      maxOutageMs: env.PERSISTENCE_MAX_OUTAGE_MS,
    },
    onClientDisconnect: env.CLIENT_DISCONNECT,
    agentDefaults: {
      maxSteps: env.AGENT_MAX_STEPS,
      limits: {
        firstEventTimeoutMs: env.AGENT_FIRST_EVENT_TIMEOUT_MS,
        idleTimeoutMs: env.AGENT_IDLE_TIMEOUT_MS,
        totalTimeoutMs: env.AGENT_TOTAL_TIMEOUT_MS,
      },
    },
    retention: {
      maxAgeMs: env.THREAD_RETENTION_DAYS ? env.THREAD_RETENTION_DAYS * 24 * 3_600_000 : undefined,
      maxThreads: env.THREAD_RETENTION_MAX_THREADS,
    },
    headerForwarding: { allow: headerList(env.FORWARD_HEADERS_ALLOW), deny: headerList(env.FORWARD_HEADERS_DENY) },
    // Per-caller limits and overload (src/limits/).
    limits: {
      runsPerMinute: env.RATE_LIMIT_RUNS_PER_MINUTE,
      tokensPerHour: env.RATE_LIMIT_TOKENS_PER_HOUR,
      concurrentRuns: env.RATE_LIMIT_CONCURRENT_RUNS,
      maxConcurrentRuns: env.MAX_CONCURRENT_RUNS,
      redis: env.REDIS_URL ? { url: env.REDIS_URL, keyPrefix: env.RATE_LIMIT_REDIS_PREFIX } : undefined,
      onStoreFailure: env.RATE_LIMIT_REDIS_FAILURE,
    },
  };
}

function headerList(value: string | undefined): string[] | undefined {
  return value?.split(',').map((name) => name.trim()).filter((name) => name !== '');
}
