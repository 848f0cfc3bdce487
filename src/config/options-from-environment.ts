import type { CopilotRuntimeOptions } from './runtime-options.js';
import type { Environment } from './environment.js';

/** The standalone server's module options, from the validated environment. */
export function optionsFromEnvironment(env: Environment): CopilotRuntimeOptions {
  return {
    path: env.COPILOTKIT_PATH,
    database: { url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE },
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
  };
}
