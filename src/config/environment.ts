import { z } from 'zod';
import { DEFAULT_AGENT_LIMITS } from '../agents/agent-limits.js';
import { checkModelEnvironment } from '../llm/model-environment.js';
import { serversFromEnvironment } from '../mcp/mcp-server-config.js';
import { McpUrlPattern } from '../mcp/mcp-url-pattern.js';
import { parseRemoteEndpointList, REMOTE_ENDPOINT_DEFAULTS } from '../remote/remote-endpoint-config.js';
import { DEFAULT_GRAPHQL_LIMITS, DEFAULT_RUN_PAYLOAD_LIMITS, DEFAULT_WEBSOCKET_LIMITS } from '../edges/edge-options.js';

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
  /**
   * Connections the kernel queues for the server before it accepts them (listen backlog; Linux caps
   * it at net.core.somaxconn). Node's default of 511 overflows when hundreds of clients connect
   * while the event loop is busy: the overflow is dropped and each client waits out TCP's SYN
   * retries (1, 3, 7, 15 s...) or fails (bench:scale at 1,000 streams).
   */
  LISTEN_BACKLOG: z.coerce.number().int().min(1).max(65535).default(4096),
  COPILOTKIT_PATH: z
    .string()
    .default('/api/copilotkit')
    .refine((value) => value.startsWith('/'), 'must start with "/"'),
  DATABASE_URL: optionalString,
  DATABASE_POOL_SIZE: positiveInt(10),
  DATA_DIR: z.string().default('.data'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  /** `provider:model` or a bare OpenAI-compatible model name; unset: the first configured provider's default model. */
  LLM_MODEL: optionalString,
  LLM_MAX_RETRIES: z.coerce.number().int().min(0).default(2),
  LLM_TIMEOUT_MS: positiveInt(120_000),
  // LLM providers beside OpenAI, and which models a request may choose (checked in llm/model-environment.ts).
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: optionalString,
  GOOGLE_API_KEY: optionalString,
  GOOGLE_BASE_URL: optionalString,
  OLLAMA_BASE_URL: optionalString,
  LLM_ALLOWED_MODELS: optionalString,
  LLM_MODEL_CACHE_SIZE: z.coerce.number().int().min(0).default(64),
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
  // MCP servers (src/mcp): the servers (a JSON array), the URL patterns of servers a client may name, the call limit.
  MCP_SERVERS: optionalString.superRefine((value, ctx) => {
    try {
      serversFromEnvironment(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  MCP_CLIENT_SERVERS_ALLOW: optionalString.superRefine((value, ctx) => {
    for (const pattern of commaList(value) ?? []) {
      try {
        new McpUrlPattern(pattern);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }
  }),
  MCP_CALL_TIMEOUT_MS: positiveInt(60_000),
  // Middleware and guardrails (src/middleware/, src/guardrails/).
  MIDDLEWARE_TIMEOUT_MS: positiveInt(10_000),
  GUARDRAILS_STRATEGY: z.enum(['cloud', 'self-hosted', 'off']).optional(),
  /** Base URL of the Copilot Cloud compatible guardrails service; wins over COPILOT_CLOUD_BASE_URL. */
  GUARDRAILS_URL: optionalString.pipe(z.string().url().optional()),
  COPILOT_CLOUD_BASE_URL: optionalString.pipe(z.string().url().optional()),
  GUARDRAILS_TIMEOUT_MS: positiveInt(10_000),
  GUARDRAILS_ON_FAILURE: z.enum(['closed', 'open']).default('closed'),
  /** Comma-separated topics (self-hosted). */
  GUARDRAILS_ALLOW_TOPICS: optionalString,
  GUARDRAILS_DENY_TOPICS: optionalString,
  /** Regular expressions separated by newlines (self-hosted; case-insensitive). */
  GUARDRAILS_DENY_PATTERNS: optionalString,
  GUARDRAILS_MODEL: optionalString,
  GUARDRAILS_CACHE_TTL_MS: millisOrOff(600_000),
  GUARDRAILS_CACHE_MAX_ENTRIES: positiveInt(1_000),
  // Transcription (v2 voice input): an OpenAI-compatible audio API; base URL and key default to OPENAI_*.
  TRANSCRIPTION_MODEL: optionalString,
  TRANSCRIPTION_BASE_URL: optionalString,
  TRANSCRIPTION_API_KEY: optionalString,
  TRANSCRIPTION_MAX_BYTES: positiveInt(25 * 1024 * 1024),
  // Remote CopilotKit endpoints
  /** Comma-separated base URLs of self-hosted CopilotKit endpoints (the Python SDK's). */
  REMOTE_ENDPOINTS: optionalString.superRefine((value, ctx) => {
    if (value === undefined) return;
    const parsed = parseRemoteEndpointList(value);
    if (!parsed.ok) ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.problem });
  }),
  /** How long an endpoint's `/info` answer is reused. */
  REMOTE_DISCOVERY_TTL_MS: positiveInt(REMOTE_ENDPOINT_DEFAULTS.discoveryTtlMs),
  /** Bound on a hang of a remote endpoint (time to an answer, longest silence in a stream). */
  REMOTE_ENDPOINT_TIMEOUT_MS: positiveInt(REMOTE_ENDPOINT_DEFAULTS.timeoutMs),
  // Hardened edges (src/edges/): limits on GraphQL documents, WebSockets and run inputs; proxies.
  /** Express `trust proxy`: `true`, a hop count, or addresses/subnets (`loopback, 10.0.0.0/8`). Default off. */
  TRUST_PROXY: optionalString,
  GRAPHQL_MAX_DEPTH: positiveInt(DEFAULT_GRAPHQL_LIMITS.maxDepth),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).default(DEFAULT_GRAPHQL_LIMITS.maxAliases),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(DEFAULT_GRAPHQL_LIMITS.maxDirectives),
  GRAPHQL_MAX_TOKENS: positiveInt(DEFAULT_GRAPHQL_LIMITS.maxTokens),
  GRAPHQL_MAX_COST: positiveInt(DEFAULT_GRAPHQL_LIMITS.maxCost),
  /** Unset: off when NODE_ENV=production, on otherwise. */
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
  /** Largest batch (JSON array of operations) in one POST; 0 refuses batches. */
  GRAPHQL_MAX_BATCH_SIZE: z.coerce.number().int().min(0).default(DEFAULT_GRAPHQL_LIMITS.maxBatchSize),
  WS_CONNECTION_INIT_TIMEOUT_MS: positiveInt(DEFAULT_WEBSOCKET_LIMITS.connectionInitTimeoutMs),
  /** Unset: the body limit (BODY_LIMIT). */
  WS_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().optional(),
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: positiveInt(DEFAULT_WEBSOCKET_LIMITS.maxSubscriptionsPerSocket),
  WS_MAX_SOCKETS_PER_IDENTITY: positiveInt(DEFAULT_WEBSOCKET_LIMITS.maxSocketsPerIdentity),
  RUN_MAX_MESSAGES: positiveInt(DEFAULT_RUN_PAYLOAD_LIMITS.maxMessages),
  /** Unset: the body limit (BODY_LIMIT). */
  RUN_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().optional(),
  RUN_MAX_TOOLS: z.coerce.number().int().min(0).default(DEFAULT_RUN_PAYLOAD_LIMITS.maxTools),
  RUN_MAX_DEPTH: positiveInt(DEFAULT_RUN_PAYLOAD_LIMITS.maxDepth),
  // Identity, limits and overload (src/auth/, src/limits/): see the README's Security section.
  AUTH_JWT_JWKS_URL: optionalString.refine((value) => value === undefined || /^https?:\/\//.test(value), 'must be an http(s) URL'),
  DATABASE_ACQUIRE_TIMEOUT_MS: positiveInt(5_000),
  /** Run admissions waiting for a connection at most, when the pool is busy; more are refused OVERLOADED. */
  DATABASE_ADMISSION_QUEUE_LENGTH: positiveInt(1_000),
  /** How long a run admission waits in that queue before it is refused OVERLOADED. */
  DATABASE_ADMISSION_WAIT_MS: positiveInt(10_000),
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
  // Operations (src/health/, src/observability/).
  /** On SIGTERM, how long runs in flight may finish before they are stopped (0: at once). */
  SHUTDOWN_DRAIN_MS: millisOrOff(20_000),
  /** Serve GET /metrics on the main port to `Authorization: Bearer <token>`. */
  METRICS_TOKEN: optionalString,
  /** Serve GET /metrics (no token) on this port of its own. */
  METRICS_PORT: z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), z.coerce.number().int().min(0).max(65535).optional()),
});

export type Environment = z.infer<typeof environmentSchema>;

/** Checks that span several variables (e.g. LLM_MODEL's provider must be configured). */
const environmentChecks = environmentSchema.superRefine((env, context) => {
  for (const issue of checkModelEnvironment(env)) context.addIssue({ code: 'custom', path: [issue.variable], message: issue.message });
});
/** A comma-separated list, trimmed, without empty items (undefined when unset). */
export function commaList(value: string | undefined): string[] | undefined {
  return value?.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

export class InvalidEnvironmentError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

export function parseEnvironment(source: NodeJS.ProcessEnv = process.env): Environment {
  const result = environmentChecks.safeParse(source);
  if (!result.success) {
    throw new InvalidEnvironmentError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}
