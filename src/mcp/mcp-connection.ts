import type { Logger } from '@nestjs/common';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { failureResult, resultText } from './mcp-tool-result.js';
import { describeTarget, openClient, type McpTarget } from './mcp-transport.js';

export interface McpConnectionSettings {
  connectTimeoutMs: number;
  callTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
}

export type McpConnectionStatus = 'connecting' | 'ready' | 'down' | 'closed';

/**
 * One server's connection: connects (and reconnects with exponential backoff while the server is
 * down), keeps its tool list (listed once, refreshed on `notifications/tools/list_changed` and on
 * every reconnect) and carries out calls. It never throws at its users: a server that is down
 * lists no tools, and a call that fails is an error result the model reads.
 */
export class McpConnection {
  private state: McpConnectionStatus = 'down';
  private client?: Client;
  private listed: Tool[] = [];
  private attempt?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private outageReported = false;
  private lastError = 'not connected yet';
  private inFlight = 0;
  private retired = false;
  private readonly listeners = new Set<(status: McpConnectionStatus) => void>();

  constructor(
    readonly target: McpTarget,
    private readonly settings: McpConnectionSettings,
    private readonly logger: Logger,
  ) {}

  get status(): McpConnectionStatus {
    return this.state;
  }

  /** Hears every status change (tests wait on it; the pool does not). */
  onStatus(listener: (status: McpConnectionStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts connecting unless connected or already trying. */
  start(): void {
    if (this.state === 'closed' || this.state === 'ready' || this.attempt) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.setStatus('connecting');
    this.attempt = this.connect().finally(() => (this.attempt = undefined));
  }

  /**
   * The server's tools: the cached list once connected. The first connection attempt is awaited
   * (bounded by the connect timeout), so the first run after boot sees a server that is merely slow
   * to start, and a run naming a new server sees its tools. During an outage nothing is awaited: the
   * server lists nothing while it is retried in the background, and runs are not slowed by it.
   */
  async tools(): Promise<Tool[]> {
    if (this.outageReported) {
      if (this.state === 'down' && !this.retryTimer) this.start();
    } else {
      await this.whenSettled();
    }
    return this.state === 'ready' ? this.listed : [];
  }

  /** Calls a tool; the outcome is always text for the model (see mcp-tool-result). */
  async call(toolName: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs?: number): Promise<string> {
    await this.whenSettled();
    const client = this.client;
    if (this.state !== 'ready' || !client) {
      return failureResult('MCP_SERVER_UNAVAILABLE', `The MCP server "${this.target.id}" is unavailable (${this.lastError}); try again later.`);
    }
    if (signal.aborted) return failureResult('MCP_CALL_FAILED', 'The run was stopped before the tool was called.');
    const limit = timeoutMs ?? this.target.callTimeoutMs ?? this.settings.callTimeoutMs;
    this.inFlight++;
    // A signal of the call's own: the SDK never removes the listener it adds, and a run's signal
    // serves every model and tool call of the run.
    const call = new AbortController();
    const forward = () => call.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    try {
      const result = await client.callTool({ name: toolName, arguments: args }, undefined, { signal: call.signal, timeout: limit });
      return resultText(result as Parameters<typeof resultText>[0]);
    } catch (error) {
      if (signal.aborted) return failureResult('MCP_CALL_FAILED', 'The run was stopped before the tool answered.');
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        return failureResult('MCP_TIMEOUT', `The MCP tool "${toolName}" of server "${this.target.id}" did not answer within ${limit} ms; the call was cancelled.`);
      }
      if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed) {
        return failureResult('MCP_CALL_FAILED', `The MCP server "${this.target.id}" refused the call of "${toolName}": ${error.message}`);
      }
      // The connection itself failed (closed, reset, refused): the server is down until it is back.
      this.lost(client, error);
      return failureResult(
        'MCP_SERVER_UNAVAILABLE',
        `The MCP server "${this.target.id}" went away during the call of "${toolName}" (${message(error)}); the result is unknown.`,
      );
    } finally {
      signal.removeEventListener('abort', forward);
      this.inFlight--;
      if (this.retired && this.inFlight === 0) void this.close();
    }
  }

  /** Closes once the calls in flight have ended (an evicted pooled connection). */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) void this.close();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.setStatus('closed');
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.listeners.clear();
    if (!client) return;
    // A Streamable HTTP session is ended on the server too (DELETE), so it frees what it holds for us.
    const transport = client.transport;
    if (transport instanceof StreamableHTTPClientTransport) {
      await withTimeout(transport.terminateSession(), 2_000, 'no answer', () => undefined).catch(() => undefined);
    }
    await client.close().catch(() => undefined);
  }

  private async whenSettled(): Promise<void> {
    if (this.state === 'down' && !this.retryTimer) this.start();
    await this.attempt;
  }

  private async connect(): Promise<void> {
    let client: Client | undefined;
    try {
      const opened = await withTimeout(
        openClient(this.target, this.settings.connectTimeoutMs, (line) => this.logger.debug(`[${this.target.id}] ${line}`)),
        this.settings.connectTimeoutMs,
        `no answer to the handshake within ${this.settings.connectTimeoutMs} ms`,
        (late) => void late.client.close().catch(() => undefined),
      );
      client = opened.client;
      const tools = await listAllTools(client, this.settings.connectTimeoutMs);
      if (this.state === 'closed') {
        await client.close().catch(() => undefined);
        return;
      }
      this.client = client;
      this.listed = tools;
      const connected = client;
      client.onclose = () => this.lost(connected, new Error('the connection closed'));
      // Over HTTP a server that dies mid-call leaves the call waiting for its timeout: the SDK only
      // reports the broken response stream here. Closing the client fails the calls in flight now.
      client.onerror = (error) => {
        if (isStreamLoss(error)) this.lost(connected, error);
      };
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.refresh(connected));
      if (this.outageReported) this.logger.log(`MCP server "${this.target.id}" is back (${tools.length} tools).`);
      else this.logger.log(`MCP server "${this.target.id}" connected over ${opened.transport}: ${tools.length} tools.`);
      this.failures = 0;
      this.outageReported = false;
      this.setStatus('ready');
    } catch (error) {
      await client?.close().catch(() => undefined);
      this.lastError = message(error);
      this.down();
    }
  }

  /** A connection that was ready failed: reconnect (which lists the tools again). */
  private lost(client: Client, error: unknown): void {
    if (this.client !== client || this.state === 'closed') return;
    this.client = undefined;
    void client.close().catch(() => undefined);
    this.lastError = message(error);
    this.down();
  }

  private down(): void {
    if (this.state === 'closed') return;
    if (!this.outageReported) {
      this.outageReported = true;
      this.logger.warn(
        `MCP server "${this.target.id}" (${describeTarget(this.target)}) is unavailable: ${this.lastError}. ` +
          'Its tools are left out until it is back; retrying with backoff.',
      );
    }
    this.setStatus('down');
    const { reconnectInitialDelayMs: initial, reconnectMaxDelayMs: max } = this.settings;
    const delay = Math.min(max, initial * 2 ** Math.min(this.failures, 20));
    this.failures++;
    // ±20% jitter: servers that went down together are not all retried at the same instant.
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.start();
    }, delay * (0.8 + Math.random() * 0.4));
    this.retryTimer.unref();
  }

  private async refresh(client: Client): Promise<void> {
    try {
      const tools = await listAllTools(client, this.settings.connectTimeoutMs);
      if (this.client === client) this.listed = tools;
    } catch (error) {
      this.logger.warn(`MCP server "${this.target.id}": listing its changed tools failed (${message(error)}); the previous list stays.`);
    }
  }

  private setStatus(status: McpConnectionStatus): void {
    this.state = status;
    for (const listener of [...this.listeners]) listener(status);
  }
}

async function listAllTools(client: Client, timeoutMs: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** The SDK's reports of a broken HTTP response stream (Streamable HTTP with reconnection off, or SSE). */
function isStreamLoss(error: Error): boolean {
  return /SSE stream disconnected|Maximum reconnection attempts|SSE error/i.test(error.message);
}

function withTimeout<T>(work: Promise<T>, ms: number, reason: string, onLate: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(reason));
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) onLate(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function message(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
