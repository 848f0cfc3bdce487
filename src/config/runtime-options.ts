import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ServerActionDefinition } from '../actions/server-action.js';
import type { AgentDefaults, AgentDefinition } from '../agents/agent-definition.js';
import type { HeaderForwardingOptions } from '../agui/header-forwarding.js';
import type { EdgeOptions } from '../edges/edge-options.js';
import type { ResolveIdentityFn } from '../auth/custom-identity.resolver.js';
import type { JwtAuthOptions } from '../auth/jwt-identity.resolver.js';
import type { ChatModelProvider, ModelCallSettings } from '../llm/chat-model-provider.js';
import type { LimitsOptions } from '../limits/limits-options.js';
import type { BusyThreadPolicy } from '../runs/agent-runner.js';
import type { RunPolicyStage } from '../runtime/run-policy.js';
import type { McpOptions } from '../mcp/mcp-server-config.js';
import type { CopilotRequestMiddleware } from '../middleware/copilot-middleware.js';
import type { UpstreamAfterRequestMiddleware, UpstreamBeforeRequestMiddleware, UpstreamV1Middleware } from '../middleware/upstream-middleware.js';
import type { GuardrailsOptions } from '../guardrails/guardrails-options.js';
import type { TranscriptionOptions } from '../transcription/transcription.module.js';
import type { RemoteEndpointDefinition } from '../remote/remote-endpoint-config.js';

/** Options of CopilotRuntimeModule.forRoot / forRootAsync. Everything is optional. */
export interface CopilotRuntimeOptions {
  /** HTTP path of the GraphQL endpoint and the graphql-ws server. Default `/api/copilotkit`. */
  path?: string;
  database?: DatabaseOptions;
  llm?: LlmOptions;
  /** Server-side actions, in addition to those found on `@CopilotAction()` methods. */
  actions?: ServerActionDefinition[];
  /** Agents served by id (AG-UI agents, LangGraph JS graphs), in addition to `@CopilotAgent()` providers. */
  agents?: AgentDefinition[];
  /**
   * Defaults for every agent: `limits` (first event 60000 ms, idle 120000 ms, total 600000 ms
   * unless set here; an agent's own limits win; 0 disables one).
   */
  agentDefaults?: AgentDefaults;
  /**
   * The built-in agent (`default`, the configured model with the tool sources' tools):
   * `maxSteps` bounds the model calls of one v2 run (server-side tool results go back to the model
   * until it answers). Default `agentDefaults.maxSteps`, else 10.
   */
  builtInAgent?: { maxSteps?: number };
  /**
   * Run policy stages (middleware, guardrails, limits) applied to every run of every protocol, in
   * addition to `@CopilotRunPolicy()` providers. See RunPolicyStage.
   */
  runPolicies?: RunPolicyStage[];
  // Middleware (src/middleware/): upstream's option names, plus our own list.
  /** Upstream v1's hooks: `onBeforeRequest`, `onAfterRequest`, `onStopGeneration`. */
  middleware?: UpstreamV1Middleware;
  /** Upstream v2's before hook (a Fetch Request; `throw new Response(...)` refuses). */
  beforeRequestMiddleware?: UpstreamBeforeRequestMiddleware;
  /** Upstream v2's after hook. */
  afterRequestMiddleware?: UpstreamAfterRequestMiddleware;
  /** Middleware objects, run after the upstream-named hooks and before `@CopilotMiddleware()` providers. */
  middlewares?: CopilotRequestMiddleware[];
  /** Longest a middleware hook may take (before: the request is refused; after: logged). Default 10000 ms. */
  middlewareTimeoutMs?: number;
  /** Guardrails (src/guardrails/): which strategy checks the user's last message before a run. */
  guardrails?: GuardrailsOptions;
  /** Largest accepted request body, as bytes or a string such as `2mb`. Default `2mb`. */
  bodyLimit?: string | number;
  /** Interval of the keep-alive written during silence on a stream. Default 15000 ms. */
  heartbeatMs?: number;
  /** Who is calling. Default: no authentication, every caller is the anonymous identity. */
  auth?: AuthOptions;
  /** Thread retention: a periodic clean-up that never touches threads with an active run. */
  retention?: RetentionOptions;
  /** Durable runs: which runner, and how it treats busy threads, locks and outages. */
  runs?: RunsOptions;
  /**
   * A v1 HTTP client that disconnects mid-answer: `abort` (default, what the client expects)
   * stops the run and cancels the model call; `continue` lets it finish in the background, so
   * `threadEvents` or a reload shows the whole answer.
   */
  onClientDisconnect?: 'abort' | 'continue';
  /**
   * Which inbound headers of a v2 (AG-UI) request reach HTTP agents. Default: `authorization` and
   * `x-*` headers except proxy, cloud, tracing and platform ones (see DEFAULT_DENIED_HEADERS).
   */
  headerForwarding?: HeaderForwardingOptions;
  /**
   * MCP servers whose tools the built-in agent (and LangGraph graphs, through `mcpTools(config)`)
   * offers the model, and which servers a request may name itself. See the README's "MCP servers".
   */
  mcp?: McpOptions;
  /** Speech to text for v2's `POST /transcribe` (voice input). Off unless a model or service is given. */
  transcription?: TranscriptionOptions;
  // Remote CopilotKit endpoints
  /**
   * Self-hosted CopilotKit endpoints (the Python SDK, or any server speaking its protocol): their
   * actions become tools, their agents are served like registered ones. See RemoteEndpointDefinition.
   */
  remoteEndpoints?: RemoteEndpointDefinition[];
  /**
   * Hardened edges: allowed browser origins (CORS and WebSocket), GraphQL document limits,
   * graphql-ws limits and run input limits. Every field has a documented default (EdgeOptions).
   */
  edges?: EdgeOptions;
  /** Health endpoints (`/health/live`, `/health/ready`) and the graceful drain on shutdown. */
  health?: HealthOptions;
  /** Prometheus metrics (see README: Operations). Off unless a token or a port is given. */
  metrics?: MetricsOptions;
  /**
   * Per-caller limits (runs per minute, model tokens per hour, concurrent runs; an API key's own
   * limits win), the instance's cap on concurrent runs, and where the counters live (Redis or memory).
   */
  limits?: LimitsOptions;
}

export interface MetricsOptions {
  /** Collect metrics. Default: true when `token` or `port` is set. */
  enabled?: boolean;
  /** Serve `GET /metrics` on the main port to `Authorization: Bearer <token>` callers. */
  token?: string;
  /** Serve `GET /metrics` (no token) on this port instead, e.g. 9464; keep it internal. */
  port?: number;
  /** Interface of the metrics port. Default `0.0.0.0`. */
  host?: string;
  /** Node's default metrics (event loop lag, heap, GC, ...). Default true. */
  defaultMetrics?: boolean;
}

/** Operations: readiness and graceful shutdown (see README: Operations). */
export interface HealthOptions {
  /**
   * On shutdown (SIGTERM), how long the runs in flight may go on before they are stopped; new runs
   * are refused (SHUTTING_DOWN) and readiness answers 503 from the start. Default 20000 ms; 0 stops
   * them at once.
   */
  drainMs?: number;
  /** A Redis the runtime depends on: readiness then also needs it to answer PING. */
  redisUrl?: string;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL. Without one, an embedded PostgreSQL (PGlite) stores data in `dataDir`. */
  url?: string;
  /** Where the embedded PostgreSQL keeps its files. Default `.data`. */
  dataDir?: string;
  /** Connection pool size. Default 10. */
  poolSize?: number;
  /**
   * How long a query waits for a pooled connection. A run refused after this wait, with every
   * connection busy, is answered OVERLOADED (retryable). Default 5000 ms (the embedded database: 60000).
   */
  acquireTimeoutMs?: number;
  /**
   * Run admissions that may wait for a connection when the pool is busy (at most half the pool
   * admits at once, the rest serves the runs in flight); one more is refused OVERLOADED
   * (retryable). Default 1000.
   */
  admissionQueueLength?: number;
  /** How long a run admission waits in that queue before it is refused OVERLOADED. Default 10000 ms. */
  admissionWaitMs?: number;
}

export interface LlmOptions {
  /**
   * The default model: `provider:model` (`anthropic:claude-sonnet-4-5`, `google-genai:gemini-2.5-flash`,
   * `ollama:llama3.2`, `openai:gpt-4o-mini`) or a bare model name for the OpenAI-compatible provider
   * (or the custom `chatModel`). Unset: the first configured provider (custom, openai, anthropic,
   * google-genai, ollama) with its own default model. Its provider must be configured (boot fails).
   */
  model?: string;
  /**
   * Which models a request may choose (`forwardedParameters.model`, v2 `forwardedProps.model`):
   * patterns such as `anthropic:*` or `openai:gpt-4o*`. Unset: any model of the configured
   * providers. The default model is always allowed.
   */
  allowedModels?: string[];
  /**
   * More providers, addressed as `<name>:<model>` like the built-in ones (e.g. a `mistral`
   * provider building ChatMistralAI). Their names must differ from the built-in ones.
   */
  providers?: ChatModelProvider[];
  /** How many built chat model instances are kept for reuse (LRU). Default 64; 0 builds one per request. */
  modelCacheSize?: number;
  /** OpenAI or any OpenAI-compatible server, through LangChain's ChatOpenAI. */
  openai?: {
    apiKey?: string;
    baseUrl?: string;
    /** Default model for bare model names. Default `gpt-4o-mini`. */
    model?: string;
    maxRetries?: number;
    timeoutMs?: number;
  };
  /** Anthropic (`anthropic:<model>`), through LangChain's ChatAnthropic. Configured by `apiKey`. */
  anthropic?: {
    apiKey?: string;
    /** Default `https://api.anthropic.com` (the SDK appends `/v1/messages`). */
    baseUrl?: string;
    /** Model of `anthropic:` without a name, and default model when Anthropic is the first configured. Default `claude-sonnet-4-5`. */
    model?: string;
    maxRetries?: number;
    timeoutMs?: number;
  };
  /** Google Gemini API (`google-genai:<model>`), through LangChain's ChatGoogleGenerativeAI. Configured by `apiKey`. */
  google?: {
    apiKey?: string;
    /** Default `https://generativelanguage.googleapis.com` (the SDK appends `/v1beta/models/...`). */
    baseUrl?: string;
    /** Default `gemini-2.5-flash`. */
    model?: string;
    maxRetries?: number;
    /** Longest wait for the first chunk of an answer. Default 120 000. */
    timeoutMs?: number;
  };
  /** Ollama's native API (`ollama:<model>`), through LangChain's ChatOllama. Configured by `baseUrl`. */
  ollama?: {
    /** e.g. `http://127.0.0.1:11434`. */
    baseUrl?: string;
    /** Default `llama3.2`. */
    model?: string;
    /** Sent with every request (e.g. `Authorization` for an Ollama behind a proxy). */
    headers?: Record<string, string>;
    /** Longest wait for the first chunk of an answer, loading the model included. Default 120 000. */
    timeoutMs?: number;
  };
  /**
   * Bring your own LangChain model. A function receives the request's forwarded parameters and
   * can honour `model`, `temperature` and `maxTokens`; a plain instance honours `stop` only.
   * Takes precedence over `openai` for bare model names; `custom:<name>` names it explicitly.
   */
  chatModel?: BaseChatModel | ((settings: ModelCallSettings) => BaseChatModel);
}

/** Injection token of the resolved CopilotRuntimeOptions. */
export const RUNTIME_OPTIONS = Symbol('COPILOT_RUNTIME_OPTIONS');

export interface AuthOptions {
  /**
   * Verify `Authorization: Bearer <JWT>` with a secret, a PEM public key or a JWKS URL; the
   * identity is the token's `sub`. API keys (`X-API-Key` or `Bearer ck_...`) are checked first,
   * whatever is configured here.
   */
  jwt?: JwtAuthOptions;
  /** Or decide yourself from the request headers (takes precedence over `jwt`). */
  resolveIdentity?: ResolveIdentityFn;
}

export interface RetentionOptions {
  /** Delete threads not updated for this long. */
  maxAgeMs?: number;
  /** Keep at most this many threads (the most recently updated). */
  maxThreads?: number;
  /** How often the clean-up runs. Default 10 minutes. */
  intervalMs?: number;
}

export interface RunsOptions {
  /**
   * `postgres` (default): runs, their event log and the one-run-per-thread lock live in the
   * database, so any instance sharing it can connect to or stop any run. `memory`: one process
   * only, bounded, nothing survives a restart (development and tests).
   */
  runner?: 'postgres' | 'memory';
  /** A run asked for on a thread that already has one: `fail` (default, 409 THREAD_BUSY), `queue`, `supersede`. */
  busyThreadPolicy?: BusyThreadPolicy;
  /** How long `queue` (and `supersede`) wait for the thread before failing with THREAD_BUSY. Default 60000 ms. */
  queueTimeoutMs?: number;
  /** Life of a thread lock without a heartbeat (renewed every third of it). Default 30000 ms. */
  lockTtlMs?: number;
  /** How long the event log may be unwritable before the run fails with PERSISTENCE_UNAVAILABLE. Default 30000 ms. */
  maxOutageMs?: number;
  /** Event log batching: a batch is written once this many events wait... Default 1000. */
  flushBatchSize?: number;
  /** ... or this long after the first of them. Default 25 ms. */
  flushIntervalMs?: number;
  /** How long shutdown waits for in-flight runs to be aborted and recorded. Default 10000 ms. */
  shutdownTimeoutMs?: number;
  /** Bounds of the in-memory runner. */
  memory?: {
    /** Threads kept (idle ones are evicted, least recently used first). Default 1000. */
    maxThreads?: number;
    /** Runs whose events are kept per thread. Default 50. */
    maxRunsPerThread?: number;
    /** Approximate JSON size of all events kept. Default 64 MiB. */
    maxBytes?: number;
  };
}
