import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ServerActionDefinition } from '../actions/server-action.js';
import type { AgentDefaults, AgentDefinition } from '../agents/agent-definition.js';
import type { HeaderForwardingOptions } from '../agui/header-forwarding.js';
import type { ResolveIdentityFn } from '../auth/custom-identity.resolver.js';
import type { JwtAuthOptions } from '../auth/jwt-identity.resolver.js';
import type { LimitsOptions } from '../limits/limits-options.js';
import type { ModelCallSettings } from '../llm/chat-model-provider.js';
import type { BusyThreadPolicy } from '../runs/agent-runner.js';
import type { RunPolicyStage } from '../runtime/run-policy.js';

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
   * Per-caller limits (runs per minute, model tokens per hour, concurrent runs; an API key's own
   * limits win), the instance's cap on concurrent runs, and where the counters live (Redis or memory).
   */
  limits?: LimitsOptions;
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
}

export interface LlmOptions {
  /** OpenAI or any OpenAI-compatible server, through LangChain's ChatOpenAI. */
  openai?: {
    apiKey?: string;
    baseUrl?: string;
    model?: string;
    maxRetries?: number;
    timeoutMs?: number;
  };
  /**
   * Bring your own LangChain model. A function receives the request's forwarded parameters and
   * can honour `model`, `temperature` and `maxTokens`; a plain instance honours `stop` only.
   * Takes precedence over `openai`.
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
