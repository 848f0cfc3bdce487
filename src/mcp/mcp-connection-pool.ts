import { Logger } from '@nestjs/common';
import { McpConnection, type McpConnectionSettings } from './mcp-connection.js';
import { targetKey, type McpTarget } from './mcp-transport.js';

/**
 * The connections, one per distinct target (server configuration including its computed headers).
 * Configured servers with fixed headers are pinned: connected at boot, kept until shutdown. Every
 * other target (headers computed per request, a client-named server) lives in a bounded LRU: the
 * least recently used beyond `maxPooled` is retired (closed once its calls in flight end), so
 * per-user variants never pile up (upstream's cache kept one client per URL forever, #2407).
 */
export class McpConnectionPool {
  private readonly logger = new Logger('MCP');
  private readonly pinned = new Map<string, McpConnection>();
  private readonly recent = new Map<string, McpConnection>();
  private closed = false;

  constructor(
    private readonly settings: McpConnectionSettings,
    private readonly maxPooled: number,
  ) {}

  /** Connects a configured server now (boot does not wait for it). */
  pin(target: McpTarget): McpConnection {
    const key = targetKey(target);
    let connection = this.pinned.get(key);
    if (!connection) {
      connection = new McpConnection(target, this.settings, this.logger);
      this.pinned.set(key, connection);
    }
    connection.start();
    return connection;
  }

  /** The connection of a target: pinned, pooled, or a new pooled one (connected on first use). */
  acquire(target: McpTarget): McpConnection {
    if (this.closed) throw new Error('The MCP connection pool is closed (the application is shutting down).');
    const key = targetKey(target);
    const pinned = this.pinned.get(key);
    if (pinned) return pinned;
    let connection = this.recent.get(key);
    if (connection) {
      this.recent.delete(key);
    } else {
      connection = new McpConnection(target, this.settings, this.logger);
    }
    this.recent.set(key, connection);
    while (this.recent.size > this.maxPooled) {
      const [oldestKey, oldest] = this.recent.entries().next().value as [string, McpConnection];
      this.recent.delete(oldestKey);
      oldest.retire();
    }
    return connection;
  }

  /** Every connection, for status checks. */
  connections(): McpConnection[] {
    return [...this.pinned.values(), ...this.recent.values()];
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = this.connections();
    this.pinned.clear();
    this.recent.clear();
    await Promise.all(all.map((connection) => connection.close()));
  }
}
