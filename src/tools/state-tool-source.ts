import { EventType, type BaseEvent } from '@ag-ui/core';
import { Injectable } from '@nestjs/common';
import { applyStateEvent } from '../runtime/agent-state.js';
import { parseToolArguments } from './tool-arguments.js';
import { TOOL_SOURCE_ORDER, type RuntimeTool, type ToolOutcome, type ToolRequest, type ToolSource } from './tool-source.js';

export const SEND_STATE_SNAPSHOT_TOOL = 'AGUISendStateSnapshot';
export const SEND_STATE_DELTA_TOOL = 'AGUISendStateDelta';

/**
 * Upstream's shared-state tools of the built-in agent: the model replaces the application's state
 * (STATE_SNAPSHOT) or patches it (STATE_DELTA, JSON Patch), and reads the outcome as the tool's
 * result. Offered only where the run asks for them (v2).
 */
@Injectable()
export class StateToolSource implements ToolSource {
  readonly name = 'state';
  readonly order = TOOL_SOURCE_ORDER.state;

  tools(request: ToolRequest): RuntimeTool[] {
    if (!request.stateTools) return [];
    return [
      {
        kind: 'server',
        definition: {
          name: SEND_STATE_SNAPSHOT_TOOL,
          description: 'Replace the entire application state with a new snapshot',
          parameters: {
            type: 'object',
            properties: { snapshot: { type: 'object', description: 'The complete new state object' } },
            required: ['snapshot'],
          },
        },
        execute: async (raw) => {
          const args = parseObject(raw);
          if (!args.ok) return failure(args.message);
          const snapshot = args.value.snapshot;
          if (typeof snapshot !== 'object' || snapshot === null || Array.isArray(snapshot)) {
            return failure('"snapshot" must be an object.');
          }
          return stateChanged({ type: EventType.STATE_SNAPSHOT, snapshot } as BaseEvent);
        },
      },
      {
        kind: 'server',
        definition: {
          name: SEND_STATE_DELTA_TOOL,
          description: 'Apply incremental updates to application state using JSON Patch operations',
          parameters: {
            type: 'object',
            properties: {
              delta: {
                type: 'array',
                description: 'Array of JSON Patch operations',
                items: {
                  type: 'object',
                  properties: {
                    op: { type: 'string', enum: ['add', 'replace', 'remove'] },
                    path: { type: 'string' },
                    value: {},
                  },
                  required: ['op', 'path'],
                },
              },
            },
            required: ['delta'],
          },
        },
        execute: async (raw, context) => {
          const args = parseObject(raw);
          if (!args.ok) return failure(args.message);
          if (!Array.isArray(args.value.delta)) return failure('"delta" must be an array of JSON Patch operations.');
          const event = { type: EventType.STATE_DELTA, delta: args.value.delta } as BaseEvent;
          // A patch that does not apply to the current state is the model's mistake: it reads why.
          const change = applyStateEvent(context.state ?? {}, event);
          if (change && 'error' in change) return failure(`The patch does not apply: ${change.error.message}`);
          return stateChanged(event);
        },
      },
    ];
  }
}

function stateChanged(event: BaseEvent): ToolOutcome {
  return { content: JSON.stringify({ success: true }), events: [{ ...event, timestamp: Date.now() } as BaseEvent] };
}

function failure(message: string): ToolOutcome {
  return { content: JSON.stringify({ success: false, error: { code: 'INVALID_ARGUMENTS', message } }) };
}

function parseObject(raw: string): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  const parsed = parseToolArguments(raw);
  if (!parsed.ok) return { ok: false, message: `The arguments are not valid JSON: ${parsed.reason}` };
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'The arguments must be a JSON object.' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
