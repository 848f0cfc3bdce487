import type { BaseEvent } from '@ag-ui/core';
import type { ModelCallSettings } from '../../src/llm/chat-model-provider.js';
import type { ChatTurnRequest } from '../../src/llm/chat-turn.js';
import type { LlmOptions } from '../../src/config/runtime-options.js';
import { OpenAIChatModelProvider } from '../../src/llm/openai-chat-model.provider.js';

/** A real ChatOpenAI aimed at `baseURL`, without retries so failures are fast. */
export function openAIModel(
  baseURL: string,
  settings: ModelCallSettings = {},
  options: NonNullable<LlmOptions['openai']> = {},
) {
  const provider = new OpenAIChatModelProvider({
    llm: { openai: { apiKey: 'test-key', baseUrl: baseURL, maxRetries: 0, ...options } },
  });
  return provider.createModel(settings);
}

export function turnRequest(overrides: Partial<ChatTurnRequest> & { text?: string } = {}): ChatTurnRequest {
  const { text = 'hello', ...rest } = overrides;
  return {
    threadId: 'thread-1',
    runId: 'run-1',
    messages: [{ id: 'user-1', role: 'user', content: text }],
    tools: [],
    settings: {},
    signal: new AbortController().signal,
    ...rest,
  };
}

export async function collect(events: AsyncIterable<BaseEvent>): Promise<BaseEvent[]> {
  const collected: BaseEvent[] = [];
  for await (const event of events) collected.push(event);
  return collected;
}

export function ofType<T extends BaseEvent = BaseEvent & Record<string, any>>(events: BaseEvent[], type: string): T[] {
  return events.filter((event) => event.type === type) as T[];
}

/** The tool both provider suites offer the model. */
export const WEATHER_TOOL = {
  name: 'getWeather',
  description: 'The weather in a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The text answer both provider suites stream (6 characters per chunk). */
export const ANSWER = 'The quick brown fox jumps over the lazy dog.';

/** Two parallel calls of WEATHER_TOOL, as aimock's `toolCalls` fixture. */
export const PARALLEL_WEATHER_CALLS = [
  { name: 'getWeather', arguments: '{"city":"Paris"}' },
  { name: 'getWeather', arguments: '{"city":"Berlin"}' },
];
