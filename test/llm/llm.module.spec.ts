import { describe, expect, it } from '@jest/globals';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ChatOpenAI } from '@langchain/openai';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../src/config/runtime-options.js';
import { CHAT_MODEL_PROVIDERS, type ChatModelProvider, type ModelCallSettings } from '../../src/llm/chat-model-provider.js';
import { ChatModelResolver } from '../../src/llm/chat-model-resolver.js';
import { LangChainChatEngine } from '../../src/llm/langchain-chat-engine.js';
import { LlmModule } from '../../src/llm/llm.module.js';

async function resolverFor(options: CopilotRuntimeOptions): Promise<ChatModelResolver> {
  const moduleRef = await Test.createTestingModule({ imports: [LlmModule.register(options)] }).compile();
  return moduleRef.get(ChatModelResolver);
}

describe('LlmModule', () => {
  it('provides the engine, the resolver and the providers, custom first', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [LlmModule.register({})] }).compile();
    expect(moduleRef.get(LangChainChatEngine)).toBeInstanceOf(LangChainChatEngine);
    expect(moduleRef.get<ChatModelProvider[]>(CHAT_MODEL_PROVIDERS).map((provider) => provider.name)).toEqual(['custom', 'openai', 'anthropic', 'google-genai', 'ollama']);
  });

  it('reads the options from a global module exporting RUNTIME_OPTIONS (how the runtime module provides them)', async () => {
    @Global()
    @Module({ providers: [{ provide: RUNTIME_OPTIONS, useValue: { llm: { openai: { apiKey: 'sk-global' } } } }], exports: [RUNTIME_OPTIONS] })
    class OptionsModule {}
    const moduleRef = await Test.createTestingModule({ imports: [OptionsModule, LlmModule] }).compile();
    expect(moduleRef.get(ChatModelResolver).resolve({}).provider).toBe('openai');
  });
});

describe('ChatModelResolver', () => {
  it('fails with CONFIGURATION_ERROR naming the variables when no LLM is configured', async () => {
    const resolver = await resolverFor({ llm: { openai: { apiKey: '  ' } } });
    const failure = (() => {
      try {
        resolver.resolve({});
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(CopilotRuntimeError);
    expect(failure).toMatchObject({ code: 'CONFIGURATION_ERROR' });
    expect((failure as Error).message).toMatch(/^No LLM is configured: set OPENAI_API_KEY \(and optionally OPENAI_BASE_URL.*LLM_MODEL\)/);
    expect((failure as Error).message).toContain('llm.chatModel');
  });

  it('serves OpenAI with the request model over the configured one', async () => {
    const resolver = await resolverFor({
      llm: { openai: { apiKey: 'sk-test', baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt-4o', maxRetries: 1, timeoutMs: 5000 } },
    });
    const byDefault = resolver.resolve({});
    expect(byDefault).toMatchObject({ provider: 'openai', modelName: 'gpt-4o' });
    expect(byDefault.errorContext.settingNames?.apiKey).toBe('OPENAI_API_KEY');

    const resolved = resolver.resolve({ model: 'gpt-4.1', temperature: 0.5, maxTokens: 10 });
    expect(resolved.modelName).toBe('gpt-4.1');
    const model = resolved.model as ChatOpenAI;
    expect(model).toBeInstanceOf(ChatOpenAI);
    expect(model).toMatchObject({ model: 'gpt-4.1', temperature: 0.5, maxTokens: 10, timeout: 5000, streaming: true, streamUsage: true });
    expect(model.clientConfig.baseURL).toBe('http://127.0.0.1:9/v1');
  });

  it('prefers a custom model instance, which ignores request settings', async () => {
    const custom = new FakeListChatModel({ responses: ['hi'] });
    const resolver = await resolverFor({ llm: { chatModel: custom, openai: { apiKey: 'sk-test' } } });
    const resolved = resolver.resolve({ model: 'ignored' });
    expect(resolved.model).toBe(custom);
    expect(resolved).toMatchObject({ provider: 'custom', modelName: 'fake-list' });
  });

  it('passes request settings to a custom model factory', async () => {
    const seen: ModelCallSettings[] = [];
    const factory = (settings: ModelCallSettings): BaseChatModel => {
      seen.push(settings);
      return new FakeListChatModel({ responses: ['hi'] });
    };
    const resolver = await resolverFor({ llm: { chatModel: factory } });
    const resolved = resolver.resolve({ model: 'my-model', temperature: 0 });
    expect(seen).toEqual([{ model: 'my-model', temperature: 0 }]);
    expect(resolved).toMatchObject({ provider: 'custom', modelName: 'my-model' });
  });
});
