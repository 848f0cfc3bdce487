import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import type { BaseMessageLike } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { performance } from 'node:perf_hooks';

/** One streamed answer, timed from the moment the request was issued. */
export interface StreamTiming {
  /** performance.now() when the request was issued (same clock as the aimock arrival times). */
  startedAt: number;
  /** Request issued -> first non-empty content chunk seen by the caller. */
  ttftMs: number;
  /** Request issued -> stream finished. */
  totalMs: number;
  /** Non-empty content chunks the caller saw. */
  chunks: number;
  /** The whole answer text. */
  text: string;
  /** CPU ms the bench process (client + aimock) used for this answer (sequential runs only). */
  callerCpuMs?: number;
  /** Results (incremental payloads merged) the v1 client delivered (runtime only). */
  snapshots?: number;
  /** Request issued -> aimock received the model request (filled in by the bench, NaN if unknown). */
  upstreamMs?: number;
}

export class StreamCheckError extends Error {
  override name = 'StreamCheckError';
}

/** Times out a single stream: aborts the controller after `ms`. */
function deadline(ms: number, what: string): { signal: AbortSignal; clear(): void; timedOut(): boolean; what: string } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`${what} did not finish within ${ms} ms`));
  }, ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer), timedOut: () => expired, what };
}

// --- Through the runtime, with the real v1 client ---------------------------------------------

interface TextMessageSnapshot {
  __typename?: string;
  content?: Array<string | null> | null;
}

interface ResponseSnapshot {
  generateCopilotResponse?: {
    status?: { code?: string; reason?: string; details?: unknown } | null;
    messages?: TextMessageSnapshot[] | null;
  };
}

/** Streams one answer through the runtime with `generateCopilotResponse` + `asStream`. */
export async function streamThroughRuntime(
  client: CopilotRuntimeClient,
  prompt: string,
  runKey: string,
  timeoutMs: number,
): Promise<StreamTiming> {
  const limit = deadline(timeoutMs, `runtime stream ${runKey}`);
  const started = performance.now();
  let ttft = -1;
  let snapshots = 0;
  let last: ResponseSnapshot | undefined;
  try {
    const stream = client.asStream(
      client.generateCopilotResponse({
        data: {
          frontend: { actions: [], url: 'http://127.0.0.1/bench' },
          messages: [
            {
              id: `bench-user-${runKey}`,
              createdAt: new Date(),
              textMessage: { role: 'user' as never, content: prompt },
            },
          ],
          metadata: { requestType: 'Chat' as never },
          threadId: `bench-thread-${runKey}`,
        } as never,
        properties: {},
        signal: limit.signal,
      }),
    );
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      snapshots++;
      last = value as ResponseSnapshot;
      if (ttft < 0 && hasContent(last)) ttft = performance.now() - started;
    }
    const totalMs = performance.now() - started;
    if (limit.timedOut()) throw new StreamCheckError(`${limit.what} timed out`);
    const response = last?.generateCopilotResponse;
    const status = response?.status;
    if (status?.code !== 'Success') {
      throw new StreamCheckError(
        `${limit.what} ended with status ${JSON.stringify(status ?? null)} (no final status: the stream was cut short?)`,
      );
    }
    const text = (response?.messages ?? [])
      .filter((message) => message.__typename === 'TextMessageOutput')
      .flatMap((message) => message.content ?? []);
    const chunks = text.filter((piece) => typeof piece === 'string' && piece.length > 0);
    return { startedAt: started, ttftMs: ttft, totalMs, chunks: chunks.length, text: chunks.join(''), snapshots };
  } finally {
    limit.clear();
  }
}

function hasContent(snapshot: ResponseSnapshot | undefined): boolean {
  const messages = snapshot?.generateCopilotResponse?.messages;
  if (!messages) return false;
  for (const message of messages) {
    if (message?.__typename !== 'TextMessageOutput' || !message.content) continue;
    for (const piece of message.content) if (piece) return true;
  }
  return false;
}

// --- Direct to aimock: raw streaming HTTP ---------------------------------------------------------

/**
 * POSTs the given chat completion body (the one the runtime sent) straight to aimock and reads
 * the SSE stream: the floor for TTFT and the ceiling for throughput.
 */
export async function streamDirectFetch(
  baseURL: string,
  body: Record<string, unknown>,
  timeoutMs: number,
): Promise<StreamTiming> {
  const limit = deadline(timeoutMs, 'direct fetch stream');
  const started = performance.now();
  let ttft = -1;
  let chunks = 0;
  const pieces: string[] = [];
  try {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench', accept: 'text/event-stream' },
      body: JSON.stringify({ ...body, stream: true }),
      signal: limit.signal,
    });
    if (!response.ok || !response.body) {
      throw new StreamCheckError(`aimock answered ${response.status}: ${await response.text()}`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    let finished = false;
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(bytes, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        for (const line of event.split('\n')) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            finished = true;
            continue;
          }
          const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string | null } }> };
          const content = parsed.choices?.[0]?.delta?.content;
          if (content) {
            if (ttft < 0) ttft = performance.now() - started;
            chunks++;
            pieces.push(content);
          }
        }
      }
    }
    if (!finished) throw new StreamCheckError('the direct stream ended without [DONE]');
    return { startedAt: started, ttftMs: ttft, totalMs: performance.now() - started, chunks, text: pieces.join('') };
  } finally {
    limit.clear();
  }
}

// --- Direct to aimock: LangChain's ChatOpenAI, configured like the runtime's provider -----------

export function benchChatModel(baseURL: string, model: string): ChatOpenAI {
  return new ChatOpenAI({
    apiKey: 'bench',
    model,
    maxRetries: 0,
    timeout: 60_000,
    streaming: true,
    streamUsage: true,
    configuration: { baseURL },
  });
}

export async function streamDirectLangChain(
  chatModel: ChatOpenAI,
  messages: BaseMessageLike[],
  timeoutMs: number,
): Promise<StreamTiming> {
  const limit = deadline(timeoutMs, 'direct ChatOpenAI stream');
  const started = performance.now();
  let ttft = -1;
  let chunks = 0;
  const pieces: string[] = [];
  try {
    const stream = await chatModel.stream(messages, { signal: limit.signal });
    for await (const chunk of stream) {
      const content = typeof chunk.content === 'string' ? chunk.content : '';
      if (content) {
        if (ttft < 0) ttft = performance.now() - started;
        chunks++;
        pieces.push(content);
      }
    }
    return { startedAt: started, ttftMs: ttft, totalMs: performance.now() - started, chunks, text: pieces.join('') };
  } finally {
    limit.clear();
  }
}

/** OpenAI chat messages (as aimock journaled them) as LangChain message-likes. */
export function toLangChainMessages(messages: Array<Record<string, unknown>>): BaseMessageLike[] {
  return messages.map((message) => {
    const role = String(message.role);
    const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '');
    const type = role === 'assistant' ? 'ai' : role === 'system' || role === 'developer' ? 'system' : 'human';
    return [type, content] as BaseMessageLike;
  });
}

/** The run key a prompt carries (`... run=<key>`), so aimock can tell whose request it serves. */
export const RUN_KEY = /run=(\S+)/;

/** A copy of OpenAI chat messages with the last user message's text replaced by `prompt`. */
export function withUserPrompt(messages: Array<Record<string, unknown>>, prompt: string): Array<Record<string, unknown>> {
  const last = messages.map((message) => message.role).lastIndexOf('user');
  return messages.map((message, index) => (index === last ? { ...message, content: prompt } : message));
}

/** The run key of the last user message, if any. */
export function runKeyOf(messages: ReadonlyArray<{ role?: string; content?: unknown }>): string | undefined {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message.role !== 'user' || typeof message.content !== 'string') continue;
    return RUN_KEY.exec(message.content)?.[1];
  }
  return undefined;
}
