import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CHAT_MODEL_PROVIDERS, type ChatModelProvider, type ModelCallSettings } from './chat-model-provider.js';
import type { ChatTurnContext } from './chat-turn.js';
import { describePatterns, isModelAllowed, parseModelPatterns, type ModelPattern } from './model-allow-list.js';
import { ModelCache } from './model-cache.js';
import { CUSTOM_PROVIDER, formatModelSpec, ModelSpecError, parseModelSpec } from './model-spec.js';

/** The model that serves one request, and what to record about it. */
export interface ResolvedChatModel {
  model: BaseChatModel;
  /** Provider name, e.g. `openai`, `anthropic` or `custom`. */
  provider: string;
  /** As recorded with the run: `anthropic:claude-sonnet-4-5`; OpenAI and custom models bare, as always. */
  modelName: string;
  /** Pass to LangChainChatEngine.streamChatTurn: error messages name the right settings, usage is counted right. */
  errorContext: ChatTurnContext;
}

export const DEFAULT_MODEL_CACHE_SIZE = 64;

/** Bare model names go to the first configured of these (today's behaviour: custom, else OpenAI). */
const BARE_NAME_PROVIDERS = [CUSTOM_PROVIDER, 'openai'];

interface Choice {
  provider: ChatModelProvider;
  /** The provider's own model name. */
  model: string;
}

/**
 * Picks the model of a request: its `provider:model` (or bare name), checked against the
 * configured providers and the allow-list, or the configured default. Built instances are kept
 * in a bounded LRU cache per (provider, model, temperature, max tokens).
 *
 * Request faults (unknown provider, provider not configured here, model not allowed, settings
 * the provider refuses) are BAD_USER_INPUT naming the allowed models; the built-in agent throws
 * them from `prepare`, before anything is stored. With no provider configured at all, a request
 * gets CONFIGURATION_ERROR as before. Configuration faults (malformed `llm.model` or
 * `llm.allowedModels`, a default model whose provider is not configured) stop the boot.
 */
@Injectable()
export class ChatModelResolver implements OnApplicationBootstrap {
  private readonly logger = new Logger(ChatModelResolver.name);
  private readonly byName = new Map<string, ChatModelProvider>();
  private readonly allowList: ModelPattern[] | null;
  private readonly defaultChoice: Choice | null;
  private readonly cache: ModelCache<BaseChatModel>;

  constructor(
    @Inject(CHAT_MODEL_PROVIDERS) private readonly providers: readonly ChatModelProvider[],
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
  ) {
    for (const provider of providers) {
      if (!/^[a-z][a-z0-9-]*$/.test(provider.name)) throw new Error(`Invalid llm.providers: the name "${provider.name}" must be lowercase letters, digits and dashes.`);
      if (this.byName.has(provider.name)) throw new Error(`Invalid llm.providers: two providers are named "${provider.name}".`);
      this.byName.set(provider.name, provider);
    }
    const llm = options.llm ?? {};
    this.cache = new ModelCache(llm.modelCacheSize ?? DEFAULT_MODEL_CACHE_SIZE);
    this.allowList = llm.allowedModels === undefined ? null : this.parseAllowList(llm.allowedModels);
    this.defaultChoice = this.chooseDefault(llm.model);
  }

  /** Booting without an LLM is allowed (agents need none), but worth a line in the log. */
  onApplicationBootstrap(): void {
    if (!this.anyConfigured()) {
      this.logger.warn(`${this.notConfiguredMessage()} Requests that need the LLM will fail.`);
      return;
    }
    for (const pattern of this.allowList ?? []) {
      const provider = this.byName.get(pattern.provider);
      if (provider && !provider.isConfigured()) {
        this.logger.warn(`Allowed model pattern ${pattern.text} names ${provider.name}, which is not configured (${provider.configurationHint}): requests for it are refused.`);
      }
    }
  }

  /** Configured provider names, in order. */
  configuredProviders(): string[] {
    return this.providers.filter((provider) => provider.isConfigured()).map((provider) => provider.name);
  }

  /**
   * The model for a request's settings. `source` names the request field in messages (e.g.
   * `forwardedParameters.model`). Throws CopilotRuntimeError: BAD_USER_INPUT for a model the
   * request may not have, CONFIGURATION_ERROR when no LLM is configured.
   */
  resolve(settings: ModelCallSettings, source = 'model'): ResolvedChatModel {
    const requested = settings.model?.trim() ? settings.model.trim() : undefined;
    const choice = requested === undefined ? this.defaultOrFail() : this.checkRequested(requested, source);
    const { provider, model } = choice;
    const local: ModelCallSettings = { ...settings, model };
    let instance: BaseChatModel;
    try {
      const key = JSON.stringify([provider.name, model, settings.temperature ?? null, settings.maxTokens ?? null]);
      instance = provider.cacheable ? this.cache.getOrCreate(key, () => provider.createModel(local)) : provider.createModel(local);
    } catch (error) {
      // Construction does no I/O: what fails here are settings the provider's package refuses
      // (e.g. a Gemini temperature above 2).
      const reason = error instanceof Error ? error.message : String(error);
      throw new CopilotRuntimeError('BAD_USER_INPUT', `The ${provider.name} model "${model}" refused the request's settings: ${reason}`);
    }
    return {
      model: instance,
      provider: provider.name,
      modelName: this.recordedName(provider, local),
      errorContext: {
        provider: provider.name,
        settingNames: provider.settingNames,
        usageReporting: provider.usageReporting,
      },
    };
  }

  /** How many built model instances are kept (for tests and diagnostics). */
  cachedModelCount(): number {
    return this.cache.size;
  }

  private checkRequested(requested: string, source: string): Choice {
    // Without any LLM there is nothing to choose from: the request fails as it did before.
    if (!this.anyConfigured()) throw new CopilotRuntimeError('CONFIGURATION_ERROR', this.notConfiguredMessage());
    let spec;
    try {
      spec = parseModelSpec(requested, this.providerNames());
    } catch (error) {
      if (!(error instanceof ModelSpecError)) throw error;
      throw this.refusal(`${source} "${requested}" ${error.message}.`);
    }
    const provider = spec.provider === undefined ? this.bareNameProvider() : this.byName.get(spec.provider)!;
    if (!provider.isConfigured()) {
      const which = spec.provider === undefined ? `is a model of ${provider.name} (no provider prefix)` : `names the provider ${provider.name}`;
      throw this.refusal(`${source} "${requested}" ${which}, which is not configured on this server.`);
    }
    const choice: Choice = { provider, model: spec.model };
    if (!this.isAllowed(choice)) throw this.refusal(`${source} "${requested}" is not an allowed model.`);
    return choice;
  }

  private isAllowed(choice: Choice): boolean {
    const isDefault = this.defaultChoice?.provider === choice.provider && this.defaultChoice.model === choice.model;
    if (isDefault || this.allowList === null) return true;
    return isModelAllowed(this.allowList, choice.provider.name, choice.model);
  }

  private refusal(problem: string): CopilotRuntimeError {
    return new CopilotRuntimeError('BAD_USER_INPUT', `${problem} ${this.allowedDescription()}`);
  }

  /** "Allowed models: anthropic:*, openai:gpt-4o* (default: gpt-4o-mini)." */
  private allowedDescription(): string {
    const allowed =
      this.allowList === null
        ? `any model of the configured providers (${this.configuredProviders().join(', ')})`
        : describePatterns(this.allowList.filter((p) => p.provider === '*' || this.byName.get(p.provider)?.isConfigured()));
    const fallback = this.defaultChoice ? ` (default: ${this.recordedName(this.defaultChoice.provider, { model: this.defaultChoice.model })})` : '';
    return `Allowed models: ${allowed || 'none but the default'}${fallback}. Write a model as provider:model, e.g. anthropic:claude-sonnet-4-5.`;
  }

  private chooseDefault(configured: string | undefined): Choice | null {
    if (configured === undefined || configured.trim() === '') {
      const first = this.providers.find((provider) => provider.isConfigured());
      return first ? { provider: first, model: first.modelName({}) } : null;
    }
    let spec;
    try {
      spec = parseModelSpec(configured, this.providerNames());
    } catch (error) {
      throw new Error(`Invalid llm.model "${configured}": it ${(error as Error).message}.`);
    }
    const provider = spec.provider === undefined ? this.bareNameProvider() : this.byName.get(spec.provider)!;
    if (!provider.isConfigured()) {
      // A bare name with no LLM at all is today's "no LLM configured": allowed, with a warning.
      if (spec.provider === undefined && !this.anyConfigured()) return null;
      throw new Error(
        `Invalid llm.model "${configured}": its provider ${provider.name} is not configured (${provider.configurationHint}).`,
      );
    }
    return { provider, model: spec.model };
  }

  private parseAllowList(patterns: readonly string[]): ModelPattern[] {
    try {
      return parseModelPatterns(patterns, this.providerNames(), this.bareNameProvider().name);
    } catch (error) {
      throw new Error(`Invalid llm.allowedModels: ${(error as Error).message}.`);
    }
  }

  private defaultOrFail(): Choice {
    if (!this.defaultChoice) throw new CopilotRuntimeError('CONFIGURATION_ERROR', this.notConfiguredMessage());
    return this.defaultChoice;
  }

  private bareNameProvider(): ChatModelProvider {
    const candidates = BARE_NAME_PROVIDERS.map((name) => this.byName.get(name)).filter((p): p is ChatModelProvider => p !== undefined);
    return candidates.find((provider) => provider.isConfigured()) ?? candidates.at(-1) ?? this.providers[0];
  }

  /** OpenAI and custom models are recorded bare, as before; the others as `provider:model`. */
  private recordedName(provider: ChatModelProvider, settings: ModelCallSettings): string {
    const name = provider.modelName(settings);
    return BARE_NAME_PROVIDERS.includes(provider.name) ? name : formatModelSpec(provider.name, name);
  }

  private providerNames(): string[] {
    return this.providers.map((provider) => provider.name);
  }

  private anyConfigured(): boolean {
    return this.providers.some((provider) => provider.isConfigured());
  }

  private notConfiguredMessage(): string {
    // The environment-configured OpenAI first: what most operators set; the custom model last.
    const byLikelihood = [...this.providers.filter((p) => p.name !== CUSTOM_PROVIDER), ...this.providers.filter((p) => p.name === CUSTOM_PROVIDER)];
    return `No LLM is configured: ${byLikelihood.map((provider) => provider.configurationHint).join('; or ')}.`;
  }
}
