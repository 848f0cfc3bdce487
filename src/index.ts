// Public API of copilot-runtime-nest.
export { CopilotRuntimeModule, type CopilotRuntimeAsyncOptions } from './copilot-runtime.module.js';
export type {
  AuthOptions,
  CopilotRuntimeOptions,
  DatabaseOptions,
  HealthOptions,
  LlmOptions,
  MetricsOptions,
  RetentionOptions,
  RunsOptions,
} from './config/runtime-options.js';
export { AGENT_RUNNER, type AgentRunner, type BusyThreadPolicy, type StopOutcome } from './runs/agent-runner.js';
export type { LoggedEvent } from './runs/logged-event.js';
export { ThreadsService } from './threads/threads.service.js';
export { CopilotAction, type CopilotActionOptions } from './actions/copilot-action.decorator.js';
export type { ActionContext, ServerActionDefinition, JsonSchemaObject } from './actions/server-action.js';
export type { ModelCallSettings, ChatModelProvider, UsageReporting } from './llm/chat-model-provider.js';
export { CopilotRuntimeError, ERROR_CODES, type ErrorCode } from './common/errors.js';
export type { Identity, RequestContext } from './common/request-context.js';
export { CopilotRuntimeService } from './runtime/copilot-runtime.service.js';
export { CopilotAgent, type CopilotAgentOptions } from './agents/copilot-agent.decorator.js';
export {
  AGENT_RUNTIME_SERVICES,
  type AgentDefinition,
  type AgentDefaults,
  type AgentLimits,
  type AgentRuntimeServices,
  type RuntimeAwareAgent,
} from './agents/agent-definition.js';
export { DEFAULT_AGENT_LIMITS } from './agents/agent-limits.js';
export { AgentRegistry, type RegisteredAgent } from './agents/agent-registry.js';
export { LangGraphAgent, type LangGraphAgentConfig, copilotkitTools, copilotkitConfigurable, mcpTools } from './agents/langgraph/index.js';
export { CopilotAgentSource, type AgentLookup, type AgentSource } from './agents/agent-source.js';
export { BuiltInAgent, DEFAULT_AGENT_ID, DEFAULT_MAX_STEPS } from './agents/built-in/built-in-agent.js';
export { FORWARDED_MODEL_SETTINGS } from './agents/built-in/model-call-settings.js';
export type { AgentBehaviour, AgentCall, ForwardedParameters, PreparedAgentRun } from './agents/agent-call.js';
export {
  CopilotToolSource,
  TOOL_SOURCE_ORDER,
  type RuntimeTool,
  type ToolCallContext,
  type ToolOutcome,
  type ToolRequest,
  type ToolSource,
} from './tools/tool-source.js';
export {
  CopilotRunPolicy,
  RUN_POLICY_ORDER,
  RunDenial,
  type CloudSettings,
  type RunEnd,
  type RunPolicyStage,
  type RunProtocol,
  type RunScope,
} from './runtime/run-policy.js';
// Middleware and guardrails.
export * from './middleware/index.js';
export * from './guardrails/index.js';
export type { HeaderForwardingOptions } from './agui/header-forwarding.js';
// MCP servers as tools.
export type {
  McpHeaders,
  McpHttpServerConfig,
  McpOptions,
  McpRequestScope,
  McpServerConfig,
  McpStdioServerConfig,
  McpToolFilter,
} from './mcp/mcp-server-config.js';
export { McpToolkit, type McpTool } from './mcp/mcp-toolkit.js';
export { namespacedToolName } from './mcp/mcp-tool-names.js';
// Voice input (v2 `/transcribe`): bring your own speech-to-text as `transcription.service`.
export { TranscriptionService, TranscriptionError, type AudioFile, type TranscriptionErrorCode } from './transcription/transcription-service.js';
export type { TranscriptionOptions } from './transcription/transcription.module.js';
// Remote CopilotKit endpoints
export {
  RemoteDiscovery,
  RemoteEndpointsModule,
  type RemoteCallContext,
  type RemoteEndpointDefinition,
  type RemoteHeaders,
  type RemoteHeadersFn,
  type RemoteRetryOptions,
} from './remote/index.js';
// Hardened edges: CORS origins, GraphQL document limits, graphql-ws limits, run input limits.
export type { EdgeOptions, GraphQLLimitOptions, RunPayloadLimitOptions, WebSocketLimitOptions } from './edges/edge-options.js';
// Operations: health and drain, metrics, logs, traces (see README: Operations).
export { ShutdownState } from './health/shutdown-state.js';
export { RuntimeMetrics } from './observability/runtime-metrics.js';
export { startTracing, shutdownTracing } from './observability/tracing/tracing-setup.js';
export { httpLogging } from './observability/logging/http-logging.js';
export { NestPinoLogger } from './observability/logging/nest-pino-logger.js';
export { createRootLogger } from './observability/logging/root-logger.js';
export { secretsOf } from './observability/logging/secret-scrubber.js';
// Identity and limits (src/auth/, src/limits/).
export type { IdentityLimits } from './common/request-context.js';
export type { JwtAuthOptions } from './auth/jwt-identity.resolver.js';
export { ApiKeys, type NewApiKey } from './auth/api-keys.service.js';
export { ApiKeyStore, type ApiKeyRecord } from './ports/api-key-store.js';
export type { LimitsOptions } from './limits/limits-options.js';
export { LimitStore, type EffectiveLimits } from './limits/limit-store.js';
