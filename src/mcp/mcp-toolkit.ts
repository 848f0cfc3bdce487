import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import type { ToolDefinition } from '../llm/chat-turn.js';
import { clientNamedServers, type ClientNamedServer } from './mcp-client-servers.js';
import { McpConnectionPool } from './mcp-connection-pool.js';
import type { McpConnection } from './mcp-connection.js';
import { checkedServers, MCP_DEFAULTS, type McpRequestScope, type McpServerConfig } from './mcp-server-config.js';
import { namespacedToolName, toolAllowed } from './mcp-tool-names.js';
import type { McpTarget } from './mcp-transport.js';
import { McpUrlPattern } from './mcp-url-pattern.js';

/** One MCP tool as offered to a model: its namespaced definition and how to call it on its server. */
export interface McpTool {
  /** `<server>__<tool>` (see namespacedToolName). */
  name: string;
  serverId: string;
  /** The tool's own name on its server. */
  toolName: string;
  /** The tool's `inputSchema` unchanged but for `$schema` (some providers reject that keyword). */
  definition: ToolDefinition;
  /** The result as text for the model; never throws (failures are error results). */
  call(args: Record<string, unknown>, signal: AbortSignal): Promise<string>;
}

/**
 * The MCP servers of a run and their tools: the configured servers (headers computed for the
 * request where configured so) and the servers the request names, when the allow-list lets it.
 * Shared by the built-in agent's tool source and the LangGraph helper `mcpTools(config)`.
 */
@Injectable()
export class McpToolkit implements OnApplicationShutdown {
  private readonly logger = new Logger('MCP');
  private readonly servers: McpServerConfig[];
  private readonly allow: McpUrlPattern[];
  private readonly pool: McpConnectionPool;
  private readonly clientToolFilter: McpServerConfig['tools'];
  private readonly reportedClashes = new Set<string>();

  constructor(@Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions) {
    const mcp = options.mcp ?? {};
    // Checked at construction: a wrong configuration stops the boot, naming the entry.
    this.servers = checkedServers(mcp.servers ?? [], 'mcp.servers');
    this.allow = (mcp.clientServers?.allow ?? []).map((pattern) => new McpUrlPattern(pattern));
    this.clientToolFilter = mcp.clientServers?.tools;
    this.pool = new McpConnectionPool(
      {
        callTimeoutMs: positive(mcp.callTimeoutMs, MCP_DEFAULTS.callTimeoutMs, 'mcp.callTimeoutMs'),
        connectTimeoutMs: positive(mcp.connectTimeoutMs, MCP_DEFAULTS.connectTimeoutMs, 'mcp.connectTimeoutMs'),
        reconnectInitialDelayMs: positive(mcp.reconnect?.initialDelayMs, MCP_DEFAULTS.reconnectInitialDelayMs, 'mcp.reconnect.initialDelayMs'),
        reconnectMaxDelayMs: positive(mcp.reconnect?.maxDelayMs, MCP_DEFAULTS.reconnectMaxDelayMs, 'mcp.reconnect.maxDelayMs'),
      },
      positive(mcp.maxPooledClients, MCP_DEFAULTS.maxPooledClients, 'mcp.maxPooledClients'),
    );
    // Servers with fixed headers connect now, in the background: boot never waits for a server.
    for (const server of this.servers) {
      if (server.transport === 'stdio' || typeof server.headers !== 'function') this.pool.pin(fixedTarget(server));
    }
    if (this.servers.length > 0) this.logger.log(`MCP servers: ${this.servers.map((server) => server.id).join(', ')}`);
  }

  /** Whether any MCP server can be used at all (configured, or allowed to be named by clients). */
  get enabled(): boolean {
    return this.servers.length > 0 || this.allow.length > 0;
  }

  /** The servers a request names, checked against the allow-list (throws BAD_USER_INPUT). */
  clientServers(properties: Readonly<Record<string, unknown>>): ClientNamedServer[] {
    return clientNamedServers(properties, this.allow);
  }

  /**
   * The run's MCP tools, server by server in configuration order, then the client-named servers.
   * A server that is down, or whose headers cannot be computed, is left out (logged); names that
   * clash keep the first tool (logged once).
   */
  async tools(scope: McpRequestScope): Promise<McpTool[]> {
    const targets = await this.targets(scope);
    const lists = await Promise.all(
      targets.map(async (target) => {
        const connection = this.pool.acquire(target);
        return { target, connection, tools: await connection.tools() };
      }),
    );
    const offered = new Map<string, McpTool>();
    for (const { target, connection, tools } of lists) {
      for (const tool of tools) {
        if (!toolAllowed(tool.name, target.tools)) continue;
        const name = namespacedToolName(target.id, tool.name);
        const existing = offered.get(name);
        if (existing) {
          this.reportClash(name, existing, target.id, tool.name);
          continue;
        }
        offered.set(name, this.mcpTool(name, target, connection, tool));
      }
    }
    return [...offered.values()];
  }

  /** The connections' statuses by server id (for health checks and tests). */
  statuses(): Array<{ id: string; status: McpConnection['status'] }> {
    return this.pool.connections().map((connection) => ({ id: connection.target.id, status: connection.status }));
  }

  /** The connections (tests wait on their status events). */
  connections(): McpConnection[] {
    return this.pool.connections();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.closeAll();
  }

  private mcpTool(name: string, target: McpTarget, connection: McpConnection, tool: Tool): McpTool {
    const { $schema: _dropped, ...parameters } = tool.inputSchema as Record<string, unknown>;
    return {
      name,
      serverId: target.id,
      toolName: tool.name,
      definition: { name, description: tool.description ?? tool.title ?? tool.name, parameters },
      // The pool's connection of the target at call time: the listing one may have been evicted since.
      call: (args, signal) => {
        let current = connection;
        try {
          current = this.pool.acquire(target);
        } catch {
          // Shutting down: the listing connection answers (unavailable).
        }
        return current.call(tool.name, args, signal);
      },
    };
  }

  private async targets(scope: McpRequestScope): Promise<McpTarget[]> {
    const configured = await Promise.all(
      this.servers.map(async (server): Promise<McpTarget | undefined> => {
        if (server.transport === 'stdio' || typeof server.headers !== 'function') return fixedTarget(server);
        try {
          const headers = (await server.headers(scope)) ?? {};
          return { id: server.id, transport: server.transport, url: server.url, headers, tools: server.tools, callTimeoutMs: server.callTimeoutMs };
        } catch (error) {
          this.logger.warn(`MCP server "${server.id}": its headers function failed (${(error as Error).message}); its tools are left out of this run.`);
          return undefined;
        }
      }),
    );
    const clientNamed = this.clientServersLeniently(scope.properties).map(
      (server): McpTarget => ({
        id: server.id,
        transport: 'http',
        url: server.endpoint,
        headers: server.apiKey ? { authorization: `Bearer ${server.apiKey}` } : {},
        tools: this.clientToolFilter,
      }),
    );
    return [...configured.filter((target): target is McpTarget => target !== undefined), ...clientNamed];
  }

  /**
   * The policy stage has refused requests naming servers that are not allowed; a caller that
   * skipped it (an agent run as a tool, a graph) still gets no such server, only a log line.
   */
  private clientServersLeniently(properties: Readonly<Record<string, unknown>>): ClientNamedServer[] {
    try {
      return this.clientServers(properties);
    } catch (error) {
      this.logger.warn(`Client-named MCP servers ignored: ${(error as Error).message}`);
      return [];
    }
  }

  private reportClash(name: string, kept: McpTool, serverId: string, toolName: string): void {
    const key = `${name}\u0000${serverId}\u0000${toolName}`;
    if (this.reportedClashes.has(key)) return;
    if (this.reportedClashes.size < 1000) this.reportedClashes.add(key);
    this.logger.warn(
      `MCP tool name clash: "${toolName}" of server "${serverId}" would be offered as "${name}", which is already ` +
        `"${kept.toolName}" of server "${kept.serverId}"; the first is kept.`,
    );
  }
}

function fixedTarget(server: McpServerConfig): McpTarget {
  const common = { id: server.id, tools: server.tools, callTimeoutMs: server.callTimeoutMs };
  if (server.transport === 'stdio') {
    return { ...common, transport: 'stdio', command: server.command, args: server.args ?? [], env: server.env, cwd: server.cwd };
  }
  return { ...common, transport: server.transport, url: server.url, headers: typeof server.headers === 'object' ? server.headers : {} };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`Invalid MCP option ${name}: ${String(value)} (use a whole number > 0).`);
  return value;
}
