import { SetMetadata } from '@nestjs/common';
import type { JsonSchemaObject } from './server-action.js';

export const COPILOT_ACTION_METADATA = 'copilot-runtime:action';

export interface CopilotActionOptions {
  /** Defaults to the method name. */
  name?: string;
  description: string;
  /** JSON Schema of the arguments. Default: any object. */
  parameters?: JsonSchemaObject;
}

/**
 * Marks a method of any Nest provider as a server-side action. The runtime finds it at boot and
 * calls it with `(args, context: ActionContext)`, bound to the provider instance, so the method
 * can use everything the provider injected.
 *
 * ```ts
 * @Injectable()
 * export class WeatherActions {
 *   @CopilotAction({ description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } })
 *   getWeather({ city }: { city: string }) { ... }
 * }
 * ```
 */
export const CopilotAction = (options: CopilotActionOptions): MethodDecorator =>
  SetMetadata(COPILOT_ACTION_METADATA, options);
