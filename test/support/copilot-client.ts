import {
  ActionInputAvailability,
  CopilotRequestType,
  CopilotRuntimeClient,
  convertMessagesToGqlInput,
  GenerateCopilotResponseDocument,
  type GenerateCopilotResponseInput,
  type GenerateCopilotResponseMutation,
  type Message,
} from '@copilotkit/runtime-client-gql';
import { print } from 'graphql';
import { createRequire } from 'node:module';
import { waitFor } from './wait-for.js';

/**
 * Helpers for driving the runtime with the real published v1 client (`@copilotkit/runtime-client-gql`),
 * shaped like the requests in test/fixtures/contract/v1/wire/*.wire.json.
 *
 *   const client = new CopilotRuntimeClient({ url: rt.url });
 *   const run = await streamResponse(client, { data: chatInput({ threadId, messages: [user('u1', 'Hi')] }) });
 *   run.final.messages[0].content.join('')
 */

/** The published client's version: it sends it as `x-copilotkit-runtime-client-gql-version`. */
export const CLIENT_VERSION: string = createRequire(import.meta.url)('@copilotkit/runtime-client-gql/package.json').version;

/** The exact mutation document the client sends, as text (for raw HTTP and graphql-ws requests). */
export const GENERATE_COPILOT_RESPONSE = print(GenerateCopilotResponseDocument);

export type CopilotResponse = GenerateCopilotResponseMutation['generateCopilotResponse'];
export type OutputMessage = CopilotResponse['messages'][number];

export interface FrontendAction {
  name: string;
  description: string;
  /** JSON Schema as text, as the client sends it. */
  jsonSchema: string;
  available?: ActionInputAvailability;
}

/**
 * The mutation's `data` as the client builds it: messages go through the client's own
 * `convertMessagesToGqlInput`, the other fields are those of the captured requests.
 */
export function chatInput(input: {
  threadId: string;
  messages: Message[];
  actions?: FrontendAction[];
  runId?: string;
}): GenerateCopilotResponseInput {
  return {
    agentStates: [],
    context: [],
    extensions: {},
    forwardedParameters: {},
    frontend: { actions: input.actions ?? [], url: 'http://localhost:3000/page' },
    messages: convertMessagesToGqlInput(input.messages),
    metaEvents: [],
    metadata: { requestType: CopilotRequestType.Chat },
    runId: input.runId ?? null,
    threadId: input.threadId,
  } as GenerateCopilotResponseInput;
}

/** One merged result as the client's stream hands it out, and when it arrived. */
export interface TimedSnapshot {
  at: number;
  response: CopilotResponse;
}

export interface StreamedResponse {
  snapshots: TimedSnapshot[];
  /** The last snapshot the client produced (the complete response when the stream ended normally). */
  final: CopilotResponse;
  /** The stream's error, if it failed (e.g. after an abort). */
  error?: unknown;
}

/**
 * Calls `generateCopilotResponse` and reads `asStream` to the end, like CopilotKit's chat does.
 * `onSnapshot` sees every snapshot as it arrives; returning `'stop'` stops reading (after an abort
 * the client's stream may never close by itself).
 */
export async function streamResponse(
  client: CopilotRuntimeClient,
  args: { data: GenerateCopilotResponseInput; properties?: Record<string, unknown>; signal?: AbortSignal },
  onSnapshot?: (snapshot: TimedSnapshot, index: number) => 'stop' | void,
): Promise<StreamedResponse> {
  const stream = client.asStream(client.generateCopilotResponse({ properties: {}, ...args }));
  const reader = stream.getReader();
  const snapshots: TimedSnapshot[] = [];
  let error: unknown;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const snapshot = { at: Date.now(), response: structuredClone(value.generateCopilotResponse) };
      snapshots.push(snapshot);
      if (onSnapshot?.(snapshot, snapshots.length - 1) === 'stop') {
        void reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (caught) {
    error = caught;
  }
  const final = snapshots.at(-1)?.response;
  if (!final && !error) throw new Error('The client produced no result at all.');
  return { snapshots, final: final as CopilotResponse, error };
}

/** The text of a streamed text message (its `content` parts joined). */
export function textOf(message: OutputMessage | undefined): string {
  return message && 'content' in message ? (message.content ?? []).join('') : '';
}

/** The messages of a response with their GraphQL type, for narrowing in assertions. */
export function messagesOf(response: CopilotResponse): Array<OutputMessage & Record<string, any>> {
  return response.messages as Array<OutputMessage & Record<string, any>>;
}

/** One HTTP exchange the client made through `fetch`, with a copy of the raw response body. */
export interface RecordedExchange {
  method: string;
  url: string;
  requestHeaders: Headers;
  status: number;
  headers: Headers;
  /** The raw response body, complete once the response ended. */
  body: Promise<string>;
  /** The raw response body received so far, while it streams. */
  receivedSoFar(): string;
}

/**
 * Records what the client sends and receives over `fetch` (the published client calls the global
 * `fetch`): request headers, response headers and a tee of the raw body. The client still reads the
 * real stream. Call `restore()` when done.
 */
export function recordFetch(): { exchanges: RecordedExchange[]; restore(): void } {
  const original = globalThis.fetch;
  const exchanges: RecordedExchange[] = [];
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await original(input, init);
    const [mine, theirs] = response.body ? response.body.tee() : [null, null];
    let receivedSoFar = '';
    const read = async () => {
      if (!mine) return '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of mine) receivedSoFar += decoder.decode(chunk, { stream: true });
        return receivedSoFar;
      } catch {
        return ''; // cut off: no complete body
      }
    };
    exchanges.push({
      method: init?.method ?? 'GET',
      url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      requestHeaders: new Headers(init?.headers),
      status: response.status,
      headers: response.headers,
      body: read(),
      receivedSoFar: () => receivedSoFar,
    });
    return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return {
    exchanges,
    restore: () => {
      globalThis.fetch = original;
    },
  };
}

/** The headers the client sends with `generateCopilotResponse` (see the captured requests). */
export function clientRequestHeaders(accept?: string): Record<string, string> {
  return {
    accept: accept ?? 'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
    'content-type': 'application/json',
    'x-copilotkit-runtime-client-gql-version': CLIENT_VERSION,
  };
}

/** The body the client posts for `generateCopilotResponse`. */
export function clientRequestBody(data: GenerateCopilotResponseInput, properties: Record<string, unknown> = {}): string {
  return JSON.stringify({ operationName: 'generateCopilotResponse', query: GENERATE_COPILOT_RESPONSE, variables: { data, properties } });
}

/**
 * The JSON payloads of a `multipart/mixed` GraphQL response body, in order. Each part's JSON is on
 * one line (JSON text never contains a raw line break), between part headers and the next delimiter.
 */
export function multipartPayloads(raw: string): Array<Record<string, any>> {
  return raw
    .split('\r\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

/** One server-sent event, or a comment (`: ...`) line block. */
export type SseFrame = { comment: string } | { event: string; data: string };

export function sseFrames(raw: string): SseFrame[] {
  return raw
    .split('\n\n')
    .filter((block) => block.length > 0)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((line) => line.startsWith(':'))) return { comment: lines.map((line) => line.slice(1).trim()).join('\n') };
      const field = (name: string) =>
        lines
          .filter((line) => line.startsWith(`${name}:`))
          .map((line) => line.slice(name.length + 1).replace(/^ /, ''))
          .join('\n');
      return { event: field('event') || 'message', data: field('data') };
    });
}

/** The text items of incremental payloads that stream into `messages[i].content`, joined. */
export function streamedText(payloads: Array<Record<string, any>>, messageIndex = 0): string {
  return payloads
    .flatMap((payload) => payload.incremental ?? [])
    .filter((entry: any) => entry.items && entry.path.at(-2) === 'content' && entry.path.at(-3) === messageIndex)
    .flatMap((entry: any) => entry.items)
    .join('');
}

/** Retries `check` until it stops throwing (see waitFor), giving up with its last error after `giveUpAfterMs`. */
export function eventually<T>(check: () => Promise<T> | T, giveUpAfterMs?: number): Promise<T> {
  return waitFor(async () => {
    const result = await check();
    // A check that returns `false` passed (it did not throw): hand it back as it is.
    return { result };
  }, { giveUpAfterMs }).then(({ result }) => result);
}

export { ActionInputAvailability };
