import type { AssistantMessage, Message, Tool } from '@ag-ui/core';
import { CopilotRuntimeError } from '../../common/errors.js';
import { newId } from '../../common/ids.js';
import { DEFAULT_AGENT_ID } from '../../agents/built-in/built-in-agent.js';
import type { RunRequest } from '../../runtime/run-request.js';
import type {
  ActionInput,
  AgentSessionInput,
  GenerateCopilotResponseInput,
  MessageInput,
} from '../generated/resolvers-types.js';

const MAX_ID_LENGTH = 256;
const MESSAGE_KINDS = [
  'textMessage',
  'actionExecutionMessage',
  'resultMessage',
  'agentStateMessage',
  'imageMessage',
] as const;

const badInput = (message: string) => new CopilotRuntimeError('BAD_USER_INPUT', message);

/**
 * Converts the v1 mutation input into the runtime's one request shape, rejecting input the
 * runtime cannot serve with a message that names the offending field. Without `agentSession` the
 * run is the built-in agent's (`default`); with one it is that agent's alone.
 */
export function toV1RunRequest(
  data: GenerateCopilotResponseInput,
  properties: Record<string, unknown> | null | undefined,
): RunRequest {
  const request = data.agentSession
    ? toAgentRunRequest(data, data.agentSession, properties ?? {})
    : toBuiltInAgentRunRequest(data, properties);
  // For middleware (upstream's `url`) and the guardrails (upstream's `data.cloud`).
  request.url = data.frontend.url ?? undefined;
  request.cloud = data.cloud ?? null;
  return request;
}

/**
 * An agent session: the agent gets the conversation, the frontend actions (`remote` ones
 * included, `disabled` ones not), its state from `agentStates`, `properties` as forwarded props
 * and, when the client answers an interrupt, `forwardedProps.command.resume`.
 */
function toAgentRunRequest(
  data: GenerateCopilotResponseInput,
  session: AgentSessionInput,
  properties: Record<string, unknown>,
): RunRequest {
  const threadId = checkedId(data.threadId, 'data.threadId') ?? checkedId(session.threadId, 'data.agentSession.threadId') ?? newId();
  const runId = checkedId(data.runId, 'data.runId') ?? newId('run');
  if (!session.agentName) throw badInput('data.agentSession.agentName must not be empty.');
  const agentState = (data.agentStates ?? []).find((entry) => entry.agentName === session.agentName);
  const answer = (data.metaEvents ?? []).find((event) => event.response !== null && event.response !== undefined);
  const forwardedProps: Record<string, unknown> = { ...properties };
  if (session.nodeName) forwardedProps.nodeName = session.nodeName;
  if (agentState?.config) forwardedProps.config = parseJsonText(agentState.config, 'data.agentStates[].config');
  if (answer) forwardedProps.command = { resume: answer.response, interruptEvent: answer.value };
  return {
    agentId: session.agentName,
    properties,
    input: {
      threadId,
      runId,
      messages: toAgUiMessages(data.messages),
      tools: toFrontendTools(data.frontend.actions, ['enabled', 'remote']),
      context: (data.context ?? []).map(({ description, value }) => ({ description, value })),
      state: agentState ? parseJsonText(agentState.state, 'data.agentStates[].state') : {},
      forwardedProps,
    },
  };
}

function parseJsonText(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badInput(`${field} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A chat with the built-in agent: the configured model answers, with server actions, agents and
 * the enabled frontend actions (not `remote` ones) as tools, and `forwardedParameters` as the
 * model call's settings.
 */
function toBuiltInAgentRunRequest(
  data: GenerateCopilotResponseInput,
  properties: Record<string, unknown> | null | undefined,
): RunRequest {
  const threadId = checkedId(data.threadId, 'data.threadId') ?? newId();
  const runId = checkedId(data.runId, 'data.runId') ?? newId('run');
  if (data.messages.length === 0) {
    throw badInput('data.messages must contain at least one message.');
  }
  const params = data.forwardedParameters ?? {};
  return {
    agentId: DEFAULT_AGENT_ID,
    input: {
      threadId,
      runId,
      messages: toAgUiMessages(data.messages),
      tools: toFrontendTools(data.frontend.actions),
      context: (data.context ?? []).map(({ description, value }) => ({ description, value })),
      state: {},
    },
    forwardedParameters: {
      model: params.model ?? undefined,
      temperature: params.temperature ?? undefined,
      maxTokens: params.maxTokens ?? undefined,
      stop: params.stop ?? undefined,
      toolChoice: params.toolChoice ?? undefined,
      toolChoiceFunctionName: params.toolChoiceFunctionName ?? undefined,
    },
    properties: properties ?? {},
  };
}

function checkedId(value: string | null | undefined, field: string): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value.length > MAX_ID_LENGTH) {
    throw badInput(`${field} is longer than ${MAX_ID_LENGTH} characters.`);
  }
  return value;
}

/**
 * v1 sends one message per tool call (ActionExecutionMessage) and per result; AG-UI groups the
 * tool calls of one assistant turn on the assistant message they belong to (parentMessageId).
 */
export function toAgUiMessages(inputs: MessageInput[]): Message[] {
  const messages: Message[] = [];
  const assistants = new Map<string, AssistantMessage>();

  inputs.forEach((input, index) => {
    const kinds = MESSAGE_KINDS.filter((kind) => input[kind] != null);
    if (kinds.length !== 1) {
      throw badInput(
        `data.messages[${index}] must set exactly one of ${MESSAGE_KINDS.join(', ')}` +
          (kinds.length ? `; it sets ${kinds.join(' and ')}.` : '; it sets none.'),
      );
    }
    const id = input.id || newId('msg');

    if (input.textMessage) {
      const { role, content } = input.textMessage;
      if (role === 'assistant') {
        const message: AssistantMessage = { id, role, content };
        assistants.set(id, message);
        messages.push(message);
      } else if (role === 'tool') {
        throw badInput(`data.messages[${index}] is a text message with role "tool": send tool output as a resultMessage.`);
      } else {
        messages.push({ id, role, content } as Message);
      }
      return;
    }
    if (input.actionExecutionMessage) {
      const { name, arguments: args, parentMessageId } = input.actionExecutionMessage;
      const ownerId = parentMessageId || id;
      let owner = assistants.get(ownerId);
      if (!owner) {
        owner = { id: ownerId, role: 'assistant' };
        assistants.set(ownerId, owner);
        messages.push(owner);
      }
      owner.toolCalls = [...(owner.toolCalls ?? []), { id, type: 'function', function: { name, arguments: args } }];
      return;
    }
    if (input.resultMessage) {
      const { actionExecutionId, result } = input.resultMessage;
      messages.push({ id, role: 'tool', toolCallId: actionExecutionId, content: result });
      return;
    }
    if (input.imageMessage) {
      const { format, bytes, role } = input.imageMessage;
      messages.push({
        id,
        role: role === 'assistant' ? 'user' : (role as 'user'),
        content: [{ type: 'binary', mimeType: `image/${format}`, data: bytes }],
      } as Message);
      return;
    }
    // Agent state messages describe an agent's state, not the conversation: agents read them.
  });
  return messages;
}

/** Enabled frontend actions become tools; disabled ones are dropped, and so are `remote` ones on the LLM path. */
function toFrontendTools(actions: ActionInput[], offered: string[] = ['enabled']): Tool[] {
  return actions.flatMap((action, index) =>
    offered.includes(action.available ?? 'enabled')
      ? [{ name: action.name, description: action.description, parameters: parseJsonSchema(action, index) }]
      : [],
  );
}

function parseJsonSchema(action: ActionInput, index: number): Record<string, unknown> {
  let schema: unknown;
  try {
    schema = JSON.parse(action.jsonSchema);
  } catch (error) {
    throw badInput(
      `data.frontend.actions[${index}].jsonSchema (action "${action.name}") is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw badInput(`data.frontend.actions[${index}].jsonSchema (action "${action.name}") must be a JSON object.`);
  }
  return schema as Record<string, unknown>;
}
