import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { ServerActionDefinition } from '../actions/server-action.js';
import type { ModelCallSettings } from '../llm/chat-model-provider.js';

/** Options of CopilotRuntimeModule.forRoot / forRootAsync. Everything is optional. */
export interface CopilotRuntimeOptions {
  /** HTTP path of the GraphQL endpoint and the graphql-ws server. Default `/api/copilotkit`. */
  path?: string;
  database?: DatabaseOptions;
  llm?: LlmOptions;
  /** Server-side actions, in addition to those found on `@CopilotAction()` methods. */
  actions?: ServerActionDefinition[];
  /** Largest accepted request body, as bytes or a string such as `2mb`. Default `2mb`. */
  bodyLimit?: string | number;
  /** Interval of the keep-alive written during silence on a stream. Default 15000 ms. */
  heartbeatMs?: number;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL. Without one, an embedded PostgreSQL (PGlite) stores data in `dataDir`. */
  url?: string;
  /** Where the embedded PostgreSQL keeps its files. Default `.data`. */
  dataDir?: string;
  /** Connection pool size. Default 10. */
  poolSize?: number;
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
