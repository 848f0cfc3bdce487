import type { RunAgentInput } from '@ag-ui/core';

/** The tool `@copilotkit/core`'s suggestion engine offers and forces (its SUGGEST_TOOL). */
export const SUGGEST_TOOL_NAME = 'copilotkitSuggest';

/**
 * Whether a run is the client's suggestion engine rather than a chat turn: it offers the
 * `copilotkitSuggest` tool and forces the model to call it. On the single route the client has no
 * `agent/suggest` (it builds only the REST URL), so it sends its suggestion runs as `agent/run` on
 * a throwaway thread; served as suggestions, they leave no thread behind in the caller's list.
 */
export function isSuggestionRun(input: RunAgentInput): boolean {
  const props = input.forwardedProps as { toolChoice?: unknown } | undefined;
  const choice = props?.toolChoice as { type?: unknown; function?: { name?: unknown } } | undefined;
  const forced = typeof choice === 'object' && choice !== null && choice.type === 'function' && choice.function?.name === SUGGEST_TOOL_NAME;
  return forced && input.tools.some((tool) => tool.name === SUGGEST_TOOL_NAME);
}
