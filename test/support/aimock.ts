import { LLMock } from '@copilotkit/aimock';

/**
 * A local OpenAI-compatible mock LLM (aimock) for tests: deterministic, offline, streaming.
 *
 *   const llm = await startAimock();
 *   llm.mock.onMessage('hello', { content: 'Hi there!' });               // first match wins
 *   llm.mock.onMessage('weather', { toolCalls: [{ name: 'getWeather', arguments: { city: 'Paris' } }] });
 *   ... CopilotRuntimeModule.forRoot({ llm: { openai: { apiKey: 'test', baseUrl: llm.baseURL, maxRetries: 0 } } })
 *   llm.chatRequests().at(-1)  // what the model was sent (model, temperature, tools, messages, ...)
 *   await llm.stop();
 *
 * Fixtures: `{ content }` text, `{ toolCalls: [{ name, arguments, id? }] }` tool calls (several =
 * parallel calls), `{ error: { message, type, code }, status }` an HTTP error; options
 * `{ chunkSize, latency }` (ms between chunks) or `{ streamingProfile: { ttft, tps } }` shape the
 * stream. Unmatched requests get 404 "No fixture matched".
 */
export interface AimockServer {
  mock: LLMock;
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** `url` + `/v1`: what OpenAI clients take as their base URL. */
  baseURL: string;
  /** Bodies of the chat completion requests received so far, oldest first. */
  chatRequests(): ChatCompletionBody[];
  stop(): Promise<void>;
}

/** The parts of an OpenAI chat completion request body that tests look at. */
export interface ChatCompletionBody {
  model: string;
  messages: Array<Record<string, unknown>>;
  temperature?: number;
  max_tokens?: number;
  stop?: string[];
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [key: string]: unknown;
}

export async function startAimock(): Promise<AimockServer> {
  // journalMaxEntries 0: keep every request, tests read the journal.
  const mock = new LLMock({ port: 0, host: '127.0.0.1', journalMaxEntries: 0 });
  await mock.start();
  return {
    mock,
    url: mock.url,
    baseURL: `${mock.url}/v1`,
    chatRequests: () =>
      mock
        .getRequests()
        .filter((entry) => entry.path.endsWith('/chat/completions'))
        .map((entry) => entry.body as unknown as ChatCompletionBody),
    stop: () => mock.stop(),
  };
}
