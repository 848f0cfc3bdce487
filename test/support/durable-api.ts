import { createClient, type Client as WsClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { clientRequestBody, clientRequestHeaders } from './copilot-client.js';
import type { GenerateCopilotResponseInput } from '@copilotkit/runtime-client-gql';

/**
 * Helpers for the durable-runs API (schema/threads.graphql, schema/copilot-events.graphql) as a
 * hand-written client uses it: plain GraphQL over HTTP, and graphql-ws subscriptions.
 *
 *   const alice = await bearer(SECRET, 'alice');
 *   const { body } = await gql(rt.url, THREAD, { id }, { authorization: alice });
 *   const ws = wsClient(rt.wsUrl, alice);
 *   const { events } = await threadEvents(ws, threadId, 0);
 */

/** An HS256 `Authorization` header value for `sub`. */
export async function bearer(secret: string, subject: string): Promise<string> {
  const token = await new SignJWT({}).setSubject(subject).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
  return `Bearer ${token}`;
}

export interface GqlReply {
  status: number;
  contentType: string | null;
  body: { data?: any; errors?: Array<{ message: string; extensions: Record<string, any> }> };
}

/** One GraphQL request over HTTP with `accept: application/json`. */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), body: JSON.parse(text) };
}

/** The one error of a reply (fails the test when there is not exactly one). */
export function onlyError(reply: GqlReply): { message: string; code: string; extensions: Record<string, any> } {
  if (reply.body.errors?.length !== 1) {
    throw new Error(`expected exactly one GraphQL error, got ${JSON.stringify(reply.body)}`);
  }
  const [error] = reply.body.errors;
  return { message: error!.message, code: error!.extensions.code, extensions: error!.extensions };
}

/** `generateCopilotResponse` exactly as the real client sends it (its headers and document), raw. */
export async function postGenerate(
  url: string,
  data: GenerateCopilotResponseInput,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string | null; text: string; elapsedMs: number }> {
  const started = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...clientRequestHeaders(), ...headers },
    body: clientRequestBody(data),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), text, elapsedMs: Date.now() - started };
}

export const THREAD_FIELDS = /* GraphQL */ `
  id title agentName createdAt updatedAt lastRunStatus messageCount
  forkedFrom { threadId messageId }
`;

export const RUN_FIELDS = /* GraphQL */ `
  id threadId status agentName model startedAt finishedAt
  error { code message }
  usage { inputTokens outputTokens totalTokens }
`;

export const THREADS = /* GraphQL */ `
  query threads($first: Int, $after: String, $agentName: String) {
    threads(first: $first, after: $after, agentName: $agentName) { nodes { ${THREAD_FIELDS} } nextCursor }
  }
`;

export const THREAD = /* GraphQL */ `
  query thread($id: String!) { thread(id: $id) { ${THREAD_FIELDS} messages runs { ${RUN_FIELDS} } } }
`;

export const RENAME_THREAD = /* GraphQL */ `
  mutation renameThread($id: String!, $title: String!) { renameThread(id: $id, title: $title) { ${THREAD_FIELDS} } }
`;

export const DELETE_THREAD = /* GraphQL */ `
  mutation deleteThread($id: String!) { deleteThread(id: $id) }
`;

export const FORK_THREAD = /* GraphQL */ `
  mutation forkThread($id: String!, $messageId: String!) {
    forkThread(id: $id, messageId: $messageId) { ${THREAD_FIELDS} messages runs { id } }
  }
`;

export const STOP_RUN = /* GraphQL */ `
  mutation stopRun($runId: String, $threadId: String) {
    stopRun(runId: $runId, threadId: $threadId) { stopped threadId runId reason message }
  }
`;

const EVENT_FIELDS = /* GraphQL */ `
  __typename type threadId runId sequence timestamp
  ... on TextMessageStartEvent { messageId role }
  ... on TextMessageContentEvent { messageId delta }
  ... on TextMessageEndEvent { messageId }
  ... on ActionExecutionStartEvent { actionExecutionId actionName }
  ... on ActionExecutionArgsEvent { actionExecutionId delta }
  ... on ActionExecutionEndEvent { actionExecutionId }
  ... on ActionExecutionResultEvent { actionExecutionId actionName result }
  ... on AgentStateEvent { agentName nodeName state running active }
  ... on MetaEventEvent { name value data }
  ... on RunFinishedEvent {
    status {
      __typename
      ... on SuccessResponseStatus { code }
      ... on FailedResponseStatus { code reason details }
    }
  }
`;

export const THREAD_EVENTS = /* GraphQL */ `
  subscription threadEvents($threadId: String!, $afterSequence: Int) {
    threadEvents(threadId: $threadId, afterSequence: $afterSequence) { ${EVENT_FIELDS} }
  }
`;

export const COPILOT_EVENTS = /* GraphQL */ `
  subscription copilotEvents($data: GenerateCopilotResponseInput!, $properties: JSONObject) {
    copilotEvents(data: $data, properties: $properties) { ${EVENT_FIELDS} }
  }
`;

export type FlatEvent = { __typename: string; type: string; threadId: string; runId: string; sequence: number } & Record<string, any>;

/** A graphql-ws client; `authorization` goes in `connectionParams` as browsers must send it. */
export function wsClient(wsUrl: string, authorization?: string): WsClient {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: authorization ? { authorization } : undefined,
  });
}

export interface Subscribed {
  events: FlatEvent[];
  /** The GraphQL errors of the operation, or the socket's close, if it did not complete normally. */
  errors?: unknown;
}

/**
 * Reads a subscription (`threadEvents` or `copilotEvents`) until the server completes it, or until
 * `onEvent` returns 'stop' (the client then completes the operation).
 */
export async function subscribe(
  ws: WsClient,
  query: string,
  variables: Record<string, unknown>,
  onEvent?: (event: FlatEvent, events: FlatEvent[]) => 'stop' | void,
): Promise<Subscribed> {
  const events: FlatEvent[] = [];
  try {
    for await (const result of ws.iterate<Record<string, FlatEvent>>({ query, variables })) {
      if (result.errors) return { events, errors: result.errors };
      const event = Object.values(result.data!)[0]!;
      events.push(event);
      if (onEvent?.(event, events) === 'stop') break;
    }
  } catch (error) {
    return { events, errors: error };
  }
  return { events };
}

export function threadEvents(
  ws: WsClient,
  threadId: string,
  afterSequence: number,
  onEvent?: (event: FlatEvent, events: FlatEvent[]) => 'stop' | void,
): Promise<Subscribed> {
  return subscribe(ws, THREAD_EVENTS, { threadId, afterSequence }, onEvent);
}

/**
 * A subscriber that drops mid-run: joins `threadEvents` from 0, and its socket goes away after
 * `deltas` text deltas. Returns what it saw before the drop.
 */
export async function subscribeThenDrop(wsUrl: string, threadId: string, deltas: number): Promise<Subscribed> {
  const ws = wsClient(wsUrl);
  const seen = await threadEvents(ws, threadId, 0, (_, events) => {
    if (events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').length === deltas) {
      ws.terminate();
      return 'stop';
    }
  });
  await ws.dispose();
  return seen;
}

/** The text the TEXT_MESSAGE_CONTENT events of a list carry, joined. */
export function deltas(events: FlatEvent[]): string {
  return events.filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').map((e) => e.delta).join('');
}

/** The status of the RunFinishedEvent that ends `events`, or undefined. */
export function finalStatus(events: FlatEvent[]): Record<string, any> | undefined {
  const last = events.at(-1);
  return last?.type === 'RUN_FINISHED' ? last.status : undefined;
}

export const STOPPED_STATUS = { __typename: 'FailedResponseStatus', code: 'Failed', reason: 'MESSAGE_STREAM_INTERRUPTED' };
export const SUCCESS_STATUS = { __typename: 'SuccessResponseStatus', code: 'Success' };

/** A text of `length` characters that reads as prose, for slow streamed answers. */
export function prose(label: string, length: number): string {
  const words = `${label} keeps streaming one small chunk after another while the test watches. `;
  return words.repeat(Math.ceil(length / words.length)).slice(0, length);
}
