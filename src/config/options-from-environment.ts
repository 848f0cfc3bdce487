import type { CopilotRuntimeOptions } from './runtime-options.js';
import { commaList, type Environment } from './environment.js';
import { serversFromEnvironment } from '../mcp/mcp-server-config.js';
import { parseRemoteEndpointList, type RemoteEndpointDefinition } from '../remote/remote-endpoint-config.js';
import type { EdgeOptions } from '../edges/edge-options.js';

/** The standalone server's module options, from the validated environment. */
export function optionsFromEnvironment(env: Environment): CopilotRuntimeOptions {
  return {
    path: env.COPILOTKIT_PATH,
    database: { url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE, acquireTimeoutMs: env.DATABASE_ACQUIRE_TIMEOUT_MS,
      admissionQueueLength: env.DATABASE_ADMISSION_QUEUE_LENGTH, admissionWaitMs: env.DATABASE_ADMISSION_WAIT_MS },
    llm: {
      model: env.LLM_MODEL,
      allowedModels: env.LLM_ALLOWED_MODELS?.split(',').map((pattern) => pattern.trim()),
      modelCacheSize: env.LLM_MODEL_CACHE_SIZE,
      openai: {
        apiKey: env.OPENAI_API_KEY,
        baseUrl: env.OPENAI_BASE_URL,
        maxRetries: env.LLM_MAX_RETRIES,
        timeoutMs: env.LLM_TIMEOUT_MS,
      },
      anthropic: {
        apiKey: env.ANTHROPIC_API_KEY,
        baseUrl: env.ANTHROPIC_BASE_URL,
        maxRetries: env.LLM_MAX_RETRIES,
        timeoutMs: env.LLM_TIMEOUT_MS,
      },
      google: { apiKey: env.GOOGLE_API_KEY, baseUrl: env.GOOGLE_BASE_URL, maxRetries: env.LLM_MAX_RETRIES, timeoutMs: env.LLM_TIMEOUT_MS },
      ollama: { baseUrl: env.OLLAMA_BASE_URL, timeoutMs: env.LLM_TIMEOUT_MS },
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
    mcp: {
      servers: serversFromEnvironment(env.MCP_SERVERS),
      clientServers: { allow: commaList(env.MCP_CLIENT_SERVERS_ALLOW) ?? [] },
      callTimeoutMs: env.MCP_CALL_TIMEOUT_MS,
    },
    middlewareTimeoutMs: env.MIDDLEWARE_TIMEOUT_MS,
    guardrails: {
      strategy: env.GUARDRAILS_STRATEGY,
      cloudBaseUrl: env.GUARDRAILS_URL ?? env.COPILOT_CLOUD_BASE_URL,
      timeoutMs: env.GUARDRAILS_TIMEOUT_MS,
      onFailure: env.GUARDRAILS_ON_FAILURE,
      selfHosted: {
        allowTopics: commaList(env.GUARDRAILS_ALLOW_TOPICS),
        denyTopics: commaList(env.GUARDRAILS_DENY_TOPICS),
        denyPatterns: env.GUARDRAILS_DENY_PATTERNS?.split('\n').map((line) => line.trim()).filter((line) => line !== ''),
        model: env.GUARDRAILS_MODEL,
        cacheTtlMs: env.GUARDRAILS_CACHE_TTL_MS,
        cacheMaxEntries: env.GUARDRAILS_CACHE_MAX_ENTRIES,
      },
    },
    // Transcription (v2 voice input): on when TRANSCRIPTION_MODEL is set.
    transcription: {
      model: env.TRANSCRIPTION_MODEL,
      baseUrl: env.TRANSCRIPTION_BASE_URL,
      apiKey: env.TRANSCRIPTION_API_KEY,
      maxBytes: env.TRANSCRIPTION_MAX_BYTES,
    },
    // Remote CopilotKit endpoints
    remoteEndpoints: remoteEndpointsFrom(env),
    edges: edgesFromEnvironment(env),
    // Operations.
    health: { drainMs: env.SHUTDOWN_DRAIN_MS, redisUrl: env.REDIS_URL },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT, host: env.HOST },
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
  return commaList(value);
}

/** REMOTE_ENDPOINTS (already checked by the environment schema) with the REMOTE_* tunings. */
function remoteEndpointsFrom(env: Environment): RemoteEndpointDefinition[] | undefined {
  if (!env.REMOTE_ENDPOINTS) return undefined;
  const parsed = parseRemoteEndpointList(env.REMOTE_ENDPOINTS);
  if (!parsed.ok) throw new Error(`REMOTE_ENDPOINTS: ${parsed.problem}`);
  return parsed.urls.map((url) => ({ url, discoveryTtlMs: env.REMOTE_DISCOVERY_TTL_MS, timeoutMs: env.REMOTE_ENDPOINT_TIMEOUT_MS }));
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
