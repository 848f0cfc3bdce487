import type { RunAgentInput } from '@ag-ui/core';
import { CopilotRuntimeError } from '../common/errors.js';
import type { AgentRunRequest, ContextItem, ForwardedParameters, RunRequest } from './run-request.js';

/** The id of the built-in agent backed by the configured model (what `<CopilotKit>` uses by default). */
export const DEFAULT_AGENT_ID = 'default';

/**
 * `forwardedProps` keys a client may use to change the default agent's model call. Anything else
 * in `forwardedProps` is handed to server actions as request properties, never to the model.
 */
export const FORWARDED_MODEL_SETTINGS = [
  'model',
  'temperature',
  'maxTokens',
  'stop',
  'toolChoice',
  'toolChoiceFunctionName',
] as const;

/** The default agent's run as an LLM-path request: the input's tools are the frontend tools. */
export function defaultAgentRunRequest(request: AgentRunRequest): RunRequest {
  const { input } = request;
  return {
    threadId: input.threadId,
    runId: input.runId,
    messages: input.messages,
    frontendTools: input.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      parameters: (tool.parameters ?? {}) as Record<string, unknown>,
    })),
    context: [...input.context, ...stateAsContext(input.state)],
    forwardedParameters: forwardedModelSettings(input.forwardedProps),
    properties: request.properties,
  };
}

function stateAsContext(state: unknown): ContextItem[] {
  if (state === undefined || state === null) return [];
  if (typeof state === 'object' && Object.keys(state).length === 0) return [];
  return [{ description: 'Current state of the application', value: JSON.stringify(state) }];
}

function forwardedModelSettings(props: RunAgentInput['forwardedProps']): ForwardedParameters {
  if (props === undefined || props === null) return {};
  if (typeof props !== 'object' || Array.isArray(props)) {
    throw new CopilotRuntimeError('BAD_USER_INPUT', 'forwardedProps must be an object.');
  }
  const source = props as Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const key of FORWARDED_MODEL_SETTINGS) {
    if (source[key] !== undefined && source[key] !== null) settings[key] = source[key];
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
  check('toolChoice', typeof settings.toolChoice === 'string', 'a string');
  check('toolChoiceFunctionName', typeof settings.toolChoiceFunctionName === 'string', 'a string');
  return settings as ForwardedParameters;
}
