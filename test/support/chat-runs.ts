import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import type { AimockServer } from './aimock.js';
import { chatInput, eventually, streamResponse, textOf, type StreamedResponse } from './copilot-client.js';

/**
 * A v1 chat run driven by the real client in the background, for mid-run scenarios:
 *
 *   const chat = startChat(client, { threadId, messageId: 'u1', text: 'Tell me a story' });
 *   const runId = await chat.streaming;      // the client has shown some of the answer
 *   ... stop it, join it, break the database ...
 *   const { final } = await chat.done;
 */
export interface BackgroundChat {
  /** Resolves with the run id once the client has shown at least `minChars` of the answer. */
  streaming: Promise<string>;
  /** The whole exchange; `finishedAt` is when the client's stream ended. */
  done: Promise<StreamedResponse & { finishedAt: number }>;
}

export function userMessage(id: string, content: string): TextMessage {
  return new TextMessage({ id, role: Role.User, content });
}

export function startChat(
  client: CopilotRuntimeClient,
  input: {
    threadId: string;
    messageId: string;
    text: string;
    minChars?: number;
    /** The client hangs up (aborts its request) as soon as it has shown `minChars`. */
    abortOnceStreaming?: boolean;
  },
): BackgroundChat {
  const controller = new AbortController();
  let resolveStreaming!: (runId: string) => void;
  let rejectStreaming!: (error: unknown) => void;
  const streaming = new Promise<string>((resolve, reject) => {
    resolveStreaming = resolve;
    rejectStreaming = reject;
  });
  const minChars = input.minChars ?? 1;
  const done = streamResponse(
    client,
    {
      data: chatInput({ threadId: input.threadId, messages: [userMessage(input.messageId, input.text)] }),
      signal: controller.signal,
    },
    (snapshot) => {
      if (textOf(snapshot.response.messages[0]).length < minChars) return;
      resolveStreaming(snapshot.response.runId!);
      if (!input.abortOnceStreaming) return;
      controller.abort();
      // After an abort the client's stream may never close by itself: stop reading.
      return 'stop';
    },
  ).then((result) => {
    rejectStreaming(new Error(`The chat ended before streaming ${minChars} characters: ${JSON.stringify(result.final ?? result.error)}`));
    return { ...result, finishedAt: Date.now() };
  });
  done.catch(rejectStreaming);
  return { streaming, done };
}

/**
 * aimock keeps streaming to a client that hung up until its `disconnectAfterMs` cut: waits for
 * that cut on the request carrying `marker`, so that no aimock timer outlives the suite.
 */
export async function awaitAimockCut(llm: AimockServer, marker: string, timeoutMs: number): Promise<void> {
  await eventually(() => {
    const entry = llm.mock.getRequests().find((request) => JSON.stringify(request.body).includes(marker));
    if (!entry?.response?.interrupted) throw new Error(`aimock has not cut the stream of "${marker}" yet`);
  }, timeoutMs);
}
