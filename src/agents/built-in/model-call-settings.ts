import type { Message, RunAgentInput } from '@ag-ui/core';
import { CopilotRuntimeError } from '../../common/errors.js';
import type { ModelCallSettings } from '../../llm/chat-model-provider.js';
import type { ToolChoice } from '../../llm/chat-turn.js';
import type { ToolCatalog } from '../../tools/tool-catalog.js';
import type { ForwardedParameters } from '../agent-call.js';

/**
 * `forwardedProps` keys a v2 client may use to change the built-in agent's model call. Anything
 * else in `forwardedProps` is handed to server tools as request properties, never to the model.
 */
export const FORWARDED_MODEL_SETTINGS = [
  'model',
  'temperature',
  'maxTokens',
  'stop',
  'toolChoice',
  'toolChoiceFunctionName',
] as const;

export interface ContextItem {
  description: string;
  value: string;
}

export function modelSettings(params: ForwardedParameters): ModelCallSettings {
  return { model: params.model, temperature: params.temperature, maxTokens: params.maxTokens, stop: params.stop };
}

/** The model settings a v2 client put in `forwardedProps`, type-checked (BAD_USER_INPUT otherwise). */
export function forwardedModelSettings(props: RunAgentInput['forwardedProps']): ForwardedParameters {
  if (props === undefined || props === null) return {};
  if (typeof props !== 'object' || Array.isArray(props)) {
    throw new CopilotRuntimeError('BAD_USER_INPUT', 'forwardedProps must be an object.');
  }
  const source = props as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const key of FORWARDED_MODEL_SETTINGS) {
    if (source[key] !== undefined && source[key] !== null) settings[key] = source[key];
  }
  // OpenAI's object form, which @copilotkit/core's suggestion engine sends:
  // {type: "function", function: {name}} is toolChoice "function" with that name.
  const objectChoice = functionChoiceName(settings.toolChoice);
  if (objectChoice !== null) {
    settings.toolChoice = 'function';
    settings.toolChoiceFunctionName = objectChoice;
  }
  const check = (key: string, ok: boolean, expected: string) => {
    if (settings[key] !== undefined && !ok) {
      throw new CopilotRuntimeError('BAD_USER_INPUT', `forwardedProps.${key} must be ${expected}.`);
    }
  };
  check('model', typeof settings.model === 'string', 'a string');
  check('temperature', typeof settings.temperature === 'number', 'a number');
  check('maxTokens', Number.isInteger(settings.maxTokens), 'an integer');
  check('stop', Array.isArray(settings.stop) && (settings.stop as unknown[]).every((s) => typeof s === 'string'), 'an array of strings');
  check('toolChoice', typeof settings.toolChoice === 'string', 'a string or {type: "function", function: {name}}');
  check('toolChoiceFunctionName', typeof settings.toolChoiceFunctionName === 'string', 'a string');
  return settings as ForwardedParameters;
}

function functionChoiceName(choice: unknown): string | null {
  if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) return null;
  const { type, function: fn } = choice as { type?: unknown; function?: { name?: unknown } };
  if (type !== 'function' || typeof fn !== 'object' || fn === null) return null;
  return typeof fn.name === 'string' && fn.name !== '' ? fn.name : null;
}

/** The forced tool choice, checked against the tools on offer before anything streams. */
export function toolChoice(params: ForwardedParameters, catalog: ToolCatalog): ToolChoice | undefined {
  switch (params.toolChoice) {
    case undefined:
    case null:
      return undefined;
    case 'auto':
    case 'none':
    case 'required':
      return params.toolChoice;
    case 'function':
      if (!params.toolChoiceFunctionName) {
        throw new CopilotRuntimeError(
          'BAD_USER_INPUT',
          'forwardedParameters.toolChoice "function" needs forwardedParameters.toolChoiceFunctionName.',
        );
      }
      if (!catalog.has(params.toolChoiceFunctionName)) {
        throw new CopilotRuntimeError(
          'BAD_USER_INPUT',
          `forwardedParameters.toolChoiceFunctionName "${params.toolChoiceFunctionName}" is not one of the tools offered: ` +
            (catalog.definitions.map((tool) => tool.name).join(', ') || 'none'),
        );
      }
      return { name: params.toolChoiceFunctionName };
    default:
      throw new CopilotRuntimeError(
        'BAD_USER_INPUT',
        `forwardedParameters.toolChoice must be auto, none, required or function; got "${params.toolChoice}".`,
      );
  }
}

/** The application's shared state, for the model to read, unless there is none. */
export function stateAsContext(state: unknown): ContextItem[] {
  if (state === undefined || state === null) return [];
  if (typeof state === 'object' && Object.keys(state).length === 0) return [];
  return [{ description: 'Current state of the application', value: JSON.stringify(state) }];
}

/** The application's context items reach the model as one system message after the leading ones. */
export function withContext(messages: Message[], context: ContextItem[]): Message[] {
  if (context.length === 0) return messages;
  const content =
    'Context provided by the application:\n' +
    context.map((item) => `- ${item.description}: ${item.value}`).join('\n');
  const leadingSystem = messages.findIndex((m) => m.role !== 'system' && m.role !== 'developer');
  const at = leadingSystem === -1 ? messages.length : leadingSystem;
  return [...messages.slice(0, at), { id: 'copilot-context', role: 'system', content }, ...messages.slice(at)];
}
