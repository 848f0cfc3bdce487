import { Injectable } from '@nestjs/common';
import { TOOL_SOURCE_ORDER, type RuntimeTool, type ToolSource } from '../tools/tool-source.js';
import { ActionExecutor } from './action-executor.js';
import { ActionRegistry } from './action-registry.js';

/** Server actions (module options and `@CopilotAction()` methods) as tools executed here. */
@Injectable()
export class ServerActionToolSource implements ToolSource {
  readonly name = 'server actions';
  readonly order = TOOL_SOURCE_ORDER.serverActions;

  constructor(
    private readonly actions: ActionRegistry,
    private readonly executor: ActionExecutor,
  ) {}

  tools(): RuntimeTool[] {
    return this.actions.list().map((action) => ({
      kind: 'server',
      definition: { name: action.name, description: action.description, parameters: action.parameters ?? {} },
      execute: async (raw, context) => ({
        content: await this.executor.execute(action, raw, {
          threadId: context.threadId,
          runId: context.runId,
          identity: context.identity,
          properties: context.properties,
          signal: context.signal,
        }),
      }),
    }));
  }
}
