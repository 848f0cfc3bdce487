/**
 * Limits and policies at the edges (CORS, GraphQL documents, graphql-ws sockets, run payloads).
 * Every one has a default that the real clients pass with room; see the README's "Hardened edges".
 */
export interface EdgeOptions {
  /**
   * Which browser origins may call the runtime (CORS and WebSocket `Origin`). Default: same-origin
   * and `localhost` / `127.0.0.1` / `[::1]` development origins only. Entries are exact origins
   * (`https://app.example.com`) or patterns with one `*` for a run of DNS labels
   * (`https://*.example.com`). A lone `*` allows any origin, without credentials. `false`: the
   * runtime sets no CORS headers and checks no origin (the host application owns CORS).
   */
  corsOrigins?: string[] | false;
  graphql?: GraphQLLimitOptions;
  webSocket?: WebSocketLimitOptions;
  runPayload?: RunPayloadLimitOptions;
}

export interface GraphQLLimitOptions {
  /** Deepest selection set nesting. Default 20. */
  maxDepth?: number;
  /** Aliases in one document. Default 15. */
  maxAliases?: number;
  /** Directives in one document. Default 50. */
  maxDirectives?: number;
  /** Lexical tokens in one document, counted before it is parsed. Default 2000. */
  maxTokens?: number;
  /** graphql-armor's cost (objects 2, scalars 1, times 1.5 per level). Default 5000. */
  maxCost?: number;
  /** Introspection queries. Default: off when NODE_ENV=production, on otherwise. */
  introspection?: boolean;
  /** Largest accepted batch (a JSON array of operations in one POST); 0 refuses batches. Default 0. */
  maxBatchSize?: number;
}

export interface WebSocketLimitOptions {
  /** A socket that sends no `connection_init` in this time is closed with 4408. Default 3000 ms. */
  connectionInitTimeoutMs?: number;
  /** Largest message; a bigger one closes the socket with 1009. Default: the body limit. */
  maxMessageBytes?: number;
  /** Operations running at once on one socket; one more is refused with an error message. Default 25. */
  maxSubscriptionsPerSocket?: number;
  /** Open sockets of one identity (of one address for anonymous callers); one more is closed with 4429. Default 50. */
  maxSocketsPerIdentity?: number;
}

export interface RunPayloadLimitOptions {
  /** Messages in one run's input. Default 1000. */
  maxMessages?: number;
  /** JSON size of one message. Default: the body limit (a whole body may be one long message). */
  maxMessageBytes?: number;
  /** Frontend tools (v1 actions) in one run's input. Default 128. */
  maxTools?: number;
  /** JSON nesting of state, forwarded props / properties, tool parameters and tool call arguments. Default 64. */
  maxDepth?: number;
}

export type ResolvedEdgeOptions = {
  corsOrigins: string[] | false;
  graphql: Required<GraphQLLimitOptions>;
  webSocket: Required<WebSocketLimitOptions>;
  runPayload: Required<RunPayloadLimitOptions>;
};

export const DEFAULT_GRAPHQL_LIMITS = {
  maxDepth: 20,
  maxAliases: 15,
  maxDirectives: 50,
  maxTokens: 2000,
  maxCost: 5000,
  maxBatchSize: 0,
} as const;

export const DEFAULT_WEBSOCKET_LIMITS = {
  connectionInitTimeoutMs: 3000,
  maxSubscriptionsPerSocket: 25,
  maxSocketsPerIdentity: 50,
} as const;

export const DEFAULT_RUN_PAYLOAD_LIMITS = {
  maxMessages: 1000,
  maxMessageBytes: 2 * 1024 * 1024,
  maxTools: 128,
  maxDepth: 64,
} as const;

/** `2mb`, `512kb`, `100` or a number of bytes, as BODY_LIMIT is written. */
export function bytesOf(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const match = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!match) throw new Error(`Not a size: ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(match[2] ?? 'b').toLowerCase() as 'b'];
  return Number(match[1]) * unit;
}

export function resolveEdgeOptions(edges: EdgeOptions | undefined, bodyLimit: string | number | undefined): ResolvedEdgeOptions {
  const graphql = edges?.graphql ?? {};
  const webSocket = edges?.webSocket ?? {};
  return {
    corsOrigins: edges?.corsOrigins ?? [],
    graphql: {
      ...DEFAULT_GRAPHQL_LIMITS,
      ...defined(graphql),
      introspection: graphql.introspection ?? process.env.NODE_ENV !== 'production',
    },
    webSocket: {
      ...DEFAULT_WEBSOCKET_LIMITS,
      ...defined(webSocket),
      maxMessageBytes: webSocket.maxMessageBytes ?? bytesOf(bodyLimit ?? '2mb'),
    },
    runPayload: {
      ...DEFAULT_RUN_PAYLOAD_LIMITS,
      maxMessageBytes: bytesOf(bodyLimit ?? '2mb'),
      ...defined(edges?.runPayload ?? {}),
    },
  };
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
