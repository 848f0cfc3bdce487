// Public API of copilot-runtime-nest.
export { CopilotRuntimeModule, type CopilotRuntimeAsyncOptions } from './copilot-runtime.module.js';
export type { CopilotRuntimeOptions, DatabaseOptions, LlmOptions } from './config/runtime-options.js';
export { CopilotAction, type CopilotActionOptions } from './actions/copilot-action.decorator.js';
export type { ActionContext, ServerActionDefinition, JsonSchemaObject } from './actions/server-action.js';
export type { ModelCallSettings, ChatModelProvider } from './llm/chat-model-provider.js';
export { CopilotRuntimeError, ERROR_CODES, type ErrorCode } from './common/errors.js';
export type { Identity, RequestContext } from './common/request-context.js';
export { CopilotRuntimeService } from './runtime/copilot-runtime.service.js';
