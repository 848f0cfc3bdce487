import { Module, type DynamicModule } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { AnthropicChatModelProvider } from './anthropic-chat-model.provider.js';
import { CHAT_MODEL_PROVIDERS, type ChatModelProvider } from './chat-model-provider.js';
import { ChatModelResolver } from './chat-model-resolver.js';
import { CustomChatModelProvider } from './custom-chat-model.provider.js';
import { GoogleChatModelProvider } from './google-chat-model.provider.js';
import { LangChainChatEngine } from './langchain-chat-engine.js';
import { OllamaChatModelProvider } from './ollama-chat-model.provider.js';
import { OpenAIChatModelProvider } from './openai-chat-model.provider.js';

/**
 * The LLM adapter layer: LangChainChatEngine, the chat model providers under
 * CHAT_MODEL_PROVIDERS (custom model first, then OpenAI, Anthropic, Google, Ollama: the order in
 * which bare model names and an unset default pick one), and ChatModelResolver.
 *
 * Options: the providers inject RUNTIME_OPTIONS. A Nest module cannot see its parent's
 * providers, so `imports: [LlmModule]` expects RUNTIME_OPTIONS from a global module (the runtime
 * module's forRoot/forRootAsync marks itself `global` and exports the token, the way
 * TypeOrmModule shares its options); this keeps forRootAsync working, since the options may be
 * built by a factory. `LlmModule.register(options)` provides the token itself, for tests and for
 * using the LLM layer alone.
 */
@Module({
  providers: [
    LangChainChatEngine,
    CustomChatModelProvider,
    OpenAIChatModelProvider,
    AnthropicChatModelProvider,
    GoogleChatModelProvider,
    OllamaChatModelProvider,
    {
      provide: CHAT_MODEL_PROVIDERS,
      // The built-in ones, then the application's own (`llm.providers`), addressed by name.
      useFactory: (options: CopilotRuntimeOptions, ...builtIn: ChatModelProvider[]): ChatModelProvider[] => [
        ...builtIn,
        ...(options.llm?.providers ?? []),
      ],
      inject: [
        RUNTIME_OPTIONS,
        CustomChatModelProvider,
        OpenAIChatModelProvider,
        AnthropicChatModelProvider,
        GoogleChatModelProvider,
        OllamaChatModelProvider,
      ],
    },
    ChatModelResolver,
  ],
  exports: [LangChainChatEngine, ChatModelResolver, CHAT_MODEL_PROVIDERS],
})
export class LlmModule {
  static register(options: CopilotRuntimeOptions): DynamicModule {
    return {
      module: LlmModule,
      providers: [{ provide: RUNTIME_OPTIONS, useValue: options }],
    };
  }
}
