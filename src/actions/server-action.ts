import type { Identity } from '../common/request-context.js';

/** A JSON Schema describing an action's arguments (an object schema). */
export type JsonSchemaObject = Record<string, unknown>;

/** What a server-side action handler receives besides its arguments. */
export interface ActionContext {
  threadId: string;
  runId: string;
  identity: Identity;
  /** The request's GraphQL `properties` (or AG-UI forwarded props). */
  properties: Readonly<Record<string, unknown>>;
  /** Aborted when the run is stopped or the client disconnects. */
  signal: AbortSignal;
}

/**
 * A server-side action: offered to the model as a tool and executed on the server when the
 * model calls it. The result is sent as-is when it is a string, else as JSON.
 */
export interface ServerActionDefinition<Args = any> {
  name: string;
  description: string;
  /** JSON Schema of the arguments; validated before the handler runs. Default: any object. */
  parameters?: JsonSchemaObject;
  handler: (args: Args, context: ActionContext) => unknown | Promise<unknown>;
}
