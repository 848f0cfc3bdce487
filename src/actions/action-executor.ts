import { Injectable, Logger } from '@nestjs/common';
import { parseToolArguments } from '../tools/tool-arguments.js';
import type { RegisteredAction } from './action-registry.js';
import type { ActionContext } from './server-action.js';

/**
 * Runs a server action for one tool call and turns any outcome into the result string the v1
 * contract carries: the handler's string as-is, anything else as JSON, and failures as
 * `{"error":{"code","message"},"result":""}` (INVALID_ARGUMENTS or HANDLER_ERROR). Never throws.
 */
@Injectable()
export class ActionExecutor {
  private readonly logger = new Logger(ActionExecutor.name);

  async execute(action: RegisteredAction, rawArguments: string, context: ActionContext): Promise<string> {
    const parsed = parseToolArguments(rawArguments);
    if (!parsed.ok) {
      return failure('INVALID_ARGUMENTS', `Arguments for "${action.name}" are not valid JSON: ${parsed.reason}`);
    }
    const problems = action.validator.problems(parsed.value);
    if (problems) {
      return failure('INVALID_ARGUMENTS', `Arguments for "${action.name}" do not match its schema: ${problems}`);
    }
    try {
      const result = await action.handler(parsed.value, context);
      return typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Server action "${action.name}" failed in run ${context.runId}: ${message}`, {
        identity: context.identity.id,
        threadId: context.threadId,
        runId: context.runId,
      });
      return failure('HANDLER_ERROR', message);
    }
  }
}

function failure(code: 'INVALID_ARGUMENTS' | 'HANDLER_ERROR', message: string): string {
  return JSON.stringify({ error: { code, message }, result: '' });
}
