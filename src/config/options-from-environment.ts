import type { CopilotRuntimeOptions } from './runtime-options.js';
import type { Environment } from './environment.js';
import type { EdgeOptions } from '../edges/edge-options.js';

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
    auth:
      env.AUTH_JWT_SECRET || env.AUTH_JWT_PUBLIC_KEY
        ? {
            jwt: {
              secret: env.AUTH_JWT_SECRET,
              publicKey: env.AUTH_JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
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
    edges: edgesFromEnvironment(env),
  };
}

function headerList(value: string | undefined): string[] | undefined {
  return value?.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

/** Hardened edges (src/edges/): CORS, GraphQL, WebSocket and run input limits. */
function edgesFromEnvironment(env: Environment): EdgeOptions {
  return {
    corsOrigins: headerList(env.CORS_ORIGINS) ?? [],
    graphql: {
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxDirectives: env.GRAPHQL_MAX_DIRECTIVES,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxCost: env.GRAPHQL_MAX_COST,
      introspection: env.GRAPHQL_INTROSPECTION === undefined ? undefined : env.GRAPHQL_INTROSPECTION === 'true',
      maxBatchSize: env.GRAPHQL_MAX_BATCH_SIZE,
    },
    webSocket: {
      connectionInitTimeoutMs: env.WS_CONNECTION_INIT_TIMEOUT_MS,
      maxMessageBytes: env.WS_MAX_MESSAGE_BYTES,
      maxSubscriptionsPerSocket: env.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSocketsPerIdentity: env.WS_MAX_SOCKETS_PER_IDENTITY,
    },
    runPayload: {
      maxMessages: env.RUN_MAX_MESSAGES,
      maxMessageBytes: env.RUN_MAX_MESSAGE_BYTES,
      maxTools: env.RUN_MAX_TOOLS,
      maxDepth: env.RUN_MAX_DEPTH,
    },
  };
}
