/**
 * One answer streamed by a real client: v1 through `CopilotRuntimeClient.generateCopilotResponse`
 * (`@copilotkit/runtime-client-gql`), v2 through `@ag-ui/client`'s `HttpAgent` on
 * `agent/default/run`. Each checks the whole answer arrived, token for token.
 */
import { HttpAgent } from '@ag-ui/client';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { performance } from 'node:perf_hooks';

export type Protocol = 'v1' | 'v2';

export interface AnswerTiming {
  /** Request issued -> first non-empty text delta at the client. */
  ttftMs: number;
  totalMs: number;
  /** Text deltas the client delivered (v1: content pieces; v2: TEXT_MESSAGE_CONTENT events). */
  deltas: number;
}

export class AnswerCheckError extends Error {
  override name = 'AnswerCheckError';
}

interface V1Snapshot {
  generateCopilotResponse?: {
    status?: { code?: string } | null;
    messages?: Array<{ __typename?: string; content?: Array<string | null> | null }> | null;
  };
}

export async function streamV1(client: CopilotRuntimeClient, prompt: string, key: string, expected: string, timeoutMs: number): Promise<AnswerTiming> {
  const started = performance.now();
  let ttft = -1;
  let last: V1Snapshot | undefined;
  const stream = client.asStream(
    client.generateCopilotResponse({
      data: {
        frontend: { actions: [], url: 'http://127.0.0.1/bench' },
        messages: [{ id: `user-${key}`, createdAt: new Date(), textMessage: { role: 'user' as never, content: prompt } }],
        metadata: { requestType: 'Chat' as never },
        threadId: `thread-${key}`,
      } as never,
      properties: {},
      signal: AbortSignal.timeout(timeoutMs),
    }),
  );
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    last = value as V1Snapshot;
    if (ttft < 0 && hasText(last)) ttft = performance.now() - started;
  }
  const totalMs = performance.now() - started;
  const response = last?.generateCopilotResponse;
  if (response?.status?.code !== 'Success') throw new AnswerCheckError(`v1 answer ${key} ended with ${JSON.stringify(response?.status ?? null)}`);
  const pieces = (response.messages ?? [])
    .filter((message) => message.__typename === 'TextMessageOutput')
    .flatMap((message) => message.content ?? [])
    .filter((piece): piece is string => typeof piece === 'string' && piece.length > 0);
  if (pieces.join('') !== expected) throw new AnswerCheckError(`v1 answer ${key} is not the text aimock sent (${pieces.join('').length} of ${expected.length} characters)`);
  return { ttftMs: ttft, totalMs, deltas: pieces.length };
}

function hasText(snapshot: V1Snapshot): boolean {
  for (const message of snapshot.generateCopilotResponse?.messages ?? []) {
    if (message?.__typename === 'TextMessageOutput' && message.content?.some((piece) => piece)) return true;
  }
  return false;
}

export async function streamV2(baseUrl: string, prompt: string, key: string, expected: string, timeoutMs: number): Promise<AnswerTiming> {
  const agent = new HttpAgent({
    url: `${baseUrl}/agent/default/run`,
    threadId: `thread-${key}`,
    initialMessages: [{ id: `user-${key}`, role: 'user', content: prompt }],
  });
  const timer = setTimeout(() => agent.abortRun(), timeoutMs);
  const started = performance.now();
  let ttft = -1;
  let deltas = 0;
  const pieces: string[] = [];
  let failed: string | null = null;
  try {
    await agent.runAgent(
      { runId: `run-${key}` },
      {
        onTextMessageContentEvent({ event }) {
          if (ttft < 0) ttft = performance.now() - started;
          deltas++;
          pieces.push(event.delta);
        },
        onRunErrorEvent({ event }) {
          failed = event.message;
        },
      },
    );
  } finally {
    clearTimeout(timer);
  }
  const totalMs = performance.now() - started;
  if (failed) throw new AnswerCheckError(`v2 answer ${key} failed: ${failed}`);
  if (pieces.join('') !== expected) throw new AnswerCheckError(`v2 answer ${key} is not the text aimock sent (${pieces.join('').length} of ${expected.length} characters)`);
  return { ttftMs: ttft, totalMs, deltas };
}
