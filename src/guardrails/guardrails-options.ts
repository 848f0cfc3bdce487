import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { GuardrailsStrategy } from './guardrails-strategy.js';

/** Copilot Cloud's public API: upstream's default guardrails service. */
export const COPILOT_CLOUD_DEFAULT_BASE_URL = 'https://api.cloud.copilotkit.ai';

export const GUARDRAILS_DEFAULTS = {
  timeoutMs: 10_000,
  cacheTtlMs: 600_000,
  cacheMaxEntries: 1_000,
} as const;

/** Module option `guardrails`. */
export interface GuardrailsOptions {
  /**
   * Which strategy checks a request's last user message before any model or agent is called:
   * - `cloud`: requests that carry `cloud.guardrails` (v1 `data.cloud`, v2 `forwardedProps.cloud`) and the
   *   `X-CopilotCloud-Public-API-Key` header are checked by a Copilot Cloud compatible service;
   * - `self-hosted`: the operator's topic lists (and deny patterns), judged by a model;
   * - `off`: no check;
   * - or your own GuardrailsStrategy.
   * Default: `self-hosted` when `selfHosted` has a topic list or a pattern, else `cloud`.
   */
  strategy?: 'cloud' | 'self-hosted' | 'off' | GuardrailsStrategy;
  /** `cloud`: base URL of the service (`POST {cloudBaseUrl}/guardrails/validate`). Default Copilot Cloud. */
  cloudBaseUrl?: string;
  /** Longest wait for a verdict. Default 10000 ms. */
  timeoutMs?: number;
  /**
   * The check could not be made (service down, slow, garbage answer, model error): `closed`
   * (default) refuses the request with GUARDRAILS_UNAVAILABLE; `open` lets it through (logged).
   */
  onFailure?: 'closed' | 'open';
  selfHosted?: SelfHostedGuardrailsOptions;
}

export interface SelfHostedGuardrailsOptions {
  /** When set, a message must be about one of these topics. */
  allowTopics?: string[];
  /** A message about any of these topics is denied. */
  denyTopics?: string[];
  /** Regular expressions (strings are compiled case-insensitive): a match is denied without asking the model. */
  denyPatterns?: Array<string | RegExp>;
  /** The judging model's name, through the configured LLM provider. Default: the provider's default model. */
  model?: string;
  /** Or bring the judging model (any LangChain chat model). */
  chatModel?: BaseChatModel;
  /** How long a verdict is reused for the same message. Default 600000 ms; 0: no cache. */
  cacheTtlMs?: number;
  /** Most verdicts kept (the oldest go first). Default 1000. */
  cacheMaxEntries?: number;
}
