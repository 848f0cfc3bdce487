import { Ajv, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });

/** Validates a tool call's parsed arguments against the action's JSON Schema. */
export class ActionArgumentsValidator {
  private constructor(private readonly validate: ValidateFunction) {}

  static compile(actionName: string, schema: Record<string, unknown>): ActionArgumentsValidator {
    try {
      return new ActionArgumentsValidator(ajv.compile(schema));
    } catch (error) {
      throw new Error(
        `Server action "${actionName}" has an invalid JSON Schema: ${(error as Error).message}`,
      );
    }
  }

  /** Returns null when valid, else a readable list of problems. */
  problems(args: unknown): string | null {
    if (this.validate(args)) return null;
    return ajv.errorsText(this.validate.errors, { dataVar: 'arguments' });
  }
}
