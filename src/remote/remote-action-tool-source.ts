import { Injectable, Logger } from '@nestjs/common';
import { ActionRegistry } from '../actions/action-registry.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { parseToolArguments } from '../tools/tool-arguments.js';
import { CopilotToolSource, TOOL_SOURCE_ORDER, type RuntimeTool, type ToolCallContext, type ToolRequest, type ToolSource } from '../tools/tool-source.js';
import type { RemoteEndpoint } from './remote-endpoint-config.js';
import { RemoteDiscovery } from './remote-discovery.js';
import { oneLine } from './remote-errors.js';
import { RemoteHttpClient } from './remote-http-client.js';
import type { RemoteActionInfo } from './remote-info.js';

/**
 * The actions of every remote endpoint that answers, as server-side tools after the server
 * actions (TOOL_SOURCE_ORDER.remoteEndpoints): the first tool of a name wins, so a server action
 * shadows a remote action of the same name (logged once), and an earlier endpoint a later one.
 * A call POSTs `/actions/execute`; the endpoint's `result` is the tool result (a string as it
 * is, anything else as JSON); a failure is a result the model reads,
 * `{"error":{"code","message"},"result":""}` as for server actions, never a thrown error.
 */
@Injectable()
@CopilotToolSource()
export class RemoteActionToolSource implements ToolSource {
  readonly name = 'remote endpoints';
  readonly order = TOOL_SOURCE_ORDER.remoteEndpoints;
  private readonly logger = new Logger('RemoteEndpoints');
  private readonly shadowLogged = new Set<string>();

  constructor(
    private readonly discovery: RemoteDiscovery,
    private readonly http: RemoteHttpClient,
    private readonly serverActions: ActionRegistry,
  ) {}

  async tools(request: ToolRequest): Promise<RuntimeTool[]> {
    const local = new Set(this.serverActions.list().map((action) => action.name));
    const tools: RuntimeTool[] = [];
    for (const { endpoint, info } of await this.discovery.discover({ identity: request.identity, properties: request.properties })) {
      for (const action of info.actions) {
        if (local.has(action.name)) {
          this.logShadowed(action.name, endpoint);
          continue;
        }
        tools.push(this.tool(endpoint, action));
      }
    }
    return tools;
  }

  private tool(endpoint: RemoteEndpoint, action: RemoteActionInfo): RuntimeTool {
    return {
      kind: 'server',
      definition: { name: action.name, description: action.description, parameters: action.parameters },
      execute: async (raw, context) => ({ content: await this.execute(endpoint, action, raw, context) }),
    };
  }

  private async execute(endpoint: RemoteEndpoint, action: RemoteActionInfo, raw: string, context: ToolCallContext): Promise<string> {
    const parsed = parseToolArguments(raw);
    if (!parsed.ok) return failure('INVALID_ARGUMENTS', `Arguments for "${action.name}" are not valid JSON: ${parsed.reason}`);
    try {
      const answer = await this.http.postJson(
        endpoint,
        '/actions/execute',
        { name: action.name, arguments: parsed.value ?? {}, properties: context.properties },
        { identity: context.identity, properties: context.properties },
        context.signal,
      );
      const result = typeof answer === 'object' && answer !== null && 'result' in answer ? (answer as { result: unknown }).result : answer;
      return typeof result === 'string' ? result : JSON.stringify(result ?? null);
    } catch (error) {
      const message = error instanceof CopilotRuntimeError ? error.message : oneLine((error as Error)?.message ?? String(error));
      const code = error instanceof CopilotRuntimeError ? error.code : 'NETWORK_ERROR';
      this.logger.warn(`Remote action "${action.name}" failed: ${message}`);
      return failure(code, message);
    }
  }

  private logShadowed(name: string, endpoint: RemoteEndpoint): void {
    const key = `${endpoint.url} ${name}`;
    if (this.shadowLogged.has(key)) return;
    this.shadowLogged.add(key);
    this.logger.warn(`Remote action "${name}" of ${endpoint.label} is not offered: a server action of that name wins.`);
  }
}

function failure(code: string, message: string): string {
  return JSON.stringify({ error: { code, message }, result: '' });
}
