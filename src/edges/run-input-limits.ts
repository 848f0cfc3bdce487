import type { RunAgentInput } from '@ag-ui/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { DEFAULT_RUN_PAYLOAD_LIMITS, type RunPayloadLimitOptions } from './edge-options.js';

/** What of a run's request the limits look at (RunRequest's fields, without importing runtime/). */
export interface RunInputParts {
  input: RunAgentInput;
  properties?: Record<string, unknown>;
}

/**
 * The limits on one run's input, checked first in the run pipeline (every protocol, every
 * transport) before anything is stored, serialised or sent to a model: message count, the JSON
 * size of each message, tool count, and the nesting depth of state, properties / forwarded props,
 * tool parameter schemas, messages and tool call arguments. Depth comes first and is measured
 * without recursion: a `state` nested 5,000 levels overflows the stack of JSON.stringify (500),
 * here it is a 400 naming RUN_MAX_DEPTH. Throws INPUT_LIMIT_EXCEEDED naming the limit.
 */
export function checkRunInput(parts: RunInputParts, limits: Required<RunPayloadLimitOptions> = DEFAULT_RUN_PAYLOAD_LIMITS): void {
  const { input, properties } = parts;
  const messages = Array.isArray(input.messages) ? input.messages : [];
  const tools = Array.isArray(input.tools) ? input.tools : [];
  if (messages.length > limits.maxMessages) {
    refuse(`A run may carry at most ${limits.maxMessages} messages; this one has ${messages.length} (RUN_MAX_MESSAGES).`);
  }
  if (tools.length > limits.maxTools) {
    refuse(`A run may offer at most ${limits.maxTools} tools; this one has ${tools.length} (RUN_MAX_TOOLS).`);
  }
  const deep = (what: string, value: unknown) => {
    if (deeperThan(value, limits.maxDepth)) refuse(`${what} is nested deeper than ${limits.maxDepth} levels (RUN_MAX_DEPTH).`);
  };
  deep('The run\'s state', input.state);
  deep('The run\'s forwarded props', input.forwardedProps);
  deep('The run\'s properties', properties);
  deep('The run\'s context', input.context);
  tools.forEach((tool, index) => deep(`Tool ${index} ("${String(tool?.name)}")`, tool));
  messages.forEach((message, index) => {
    deep(`Message ${index}`, message);
    for (const call of (message as { toolCalls?: Array<{ function?: { arguments?: unknown } }> }).toolCalls ?? []) {
      const args = call?.function?.arguments;
      if (typeof args === 'string') deep(`The arguments of a tool call in message ${index}`, parseOrNull(args));
    }
    const bytes = Buffer.byteLength(JSON.stringify(message) ?? '');
    if (bytes > limits.maxMessageBytes) {
      refuse(`Message ${index} is ${bytes} bytes of JSON; the limit is ${limits.maxMessageBytes} (RUN_MAX_MESSAGE_BYTES).`);
    }
  });
}

/** Whether a JSON value nests deeper than `max` (objects and arrays are levels), without recursion. */
export function deeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null; // not JSON: the agent reports malformed arguments its own way
  }
}

function refuse(message: string): never {
  throw new CopilotRuntimeError('INPUT_LIMIT_EXCEEDED', message);
}
