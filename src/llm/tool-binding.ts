import type { BaseChatModel, BaseChatModelCallOptions } from '@langchain/core/language_models/chat_models';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import type { AIMessageChunk } from '@langchain/core/messages';
import type { Runnable } from '@langchain/core/runnables';
import { CopilotRuntimeError } from '../common/errors.js';
import type { ToolChoice, ToolDefinition } from './chat-turn.js';

export type ChatRunnable = Runnable<BaseLanguageModelInput, AIMessageChunk, BaseChatModelCallOptions>;

/** OpenAI rejects a function without a parameters schema; `{}` means "no arguments". */
const NO_PARAMETERS = { type: 'object', properties: {} };

/**
 * The model with the request's tools bound, or the model itself when no tools are offered (a
 * `tool_choice` without tools is a 400 at OpenAI, so it is dropped with them).
 */
export function withTools(model: BaseChatModel, tools: readonly ToolDefinition[], toolChoice?: ToolChoice): ChatRunnable {
  if (tools.length === 0) return model;
  if (typeof model.bindTools !== 'function') {
    throw new CopilotRuntimeError(
      'CONFIGURATION_ERROR',
      `The configured chat model (${model.getName()}) does not support tool calling, but this request offers ` +
        `${tools.length} tool(s) (${tools.map((tool) => tool.name).join(', ')}). Configure a model with tool support.`,
    );
  }
  assertChoiceIsOffered(tools, toolChoice);
  const openAiTools = tools.map((tool) => ({
    type: 'function' as const,
    function: {
      name: tool.name,
      description: tool.description,
      parameters: Object.keys(tool.parameters).length === 0 ? NO_PARAMETERS : tool.parameters,
    },
  }));
  return model.bindTools(openAiTools, toolChoice === undefined ? {} : { tool_choice: toLangChainToolChoice(toolChoice) });
}

/**
 * LangChain's portable spellings: `any` (not `required`) means "must call a tool" for OpenAI,
 * Anthropic and Google alike, and a bare tool name forces that tool. ChatOpenAI sends them as
 * `"required"` and `{type: "function", function: {name}}`.
 */
export function toLangChainToolChoice(choice: ToolChoice): string {
  if (typeof choice === 'object') return choice.name;
  return choice === 'required' ? 'any' : choice;
}

function assertChoiceIsOffered(tools: readonly ToolDefinition[], choice?: ToolChoice): void {
  if (typeof choice !== 'object' || tools.some((tool) => tool.name === choice.name)) return;
  throw new CopilotRuntimeError(
    'BAD_USER_INPUT',
    `toolChoice names the tool "${choice.name}", which is not among the offered tools (${tools.map((tool) => tool.name).join(', ')}).`,
  );
}
