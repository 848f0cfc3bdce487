import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context as WsServerContext, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CopilotRuntimeError } from '../../common/errors.js';
import type { Identity } from '../../common/request-context.js';
import { Edges } from '../../edges/edges.js';
import { BasePath } from '../../http/base-path.js';
import { RequestContexts } from '../../http/request-contexts.js';
import { GraphQLLimits } from '../limits/graphql-limits.js';
import { graphqlWsOptions } from './graphql-ws.options.js';
import { corkSendsPerTurn } from './turn-corked-sends.js';

/**
 * Documents that passed parsing and validation, by query text, so that the subscribers of one
 * operation share one document (each parse holds ~5 KB of AST, tokens and locations for as long
 * as its subscription lives) and skip parsing and validating again. Bounded; the oldest entry
 * goes first. Only valid documents are kept: a refused one is judged again each time.
 */
const DOCUMENT_CACHE_SIZE = 256;
/** Longer query texts are not kept (their key alone would cost more than sharing saves). */
const DOCUMENT_CACHE_MAX_QUERY_LENGTH = 16_384;

type SocketExtra = { request: IncomingMessage; socket: WebSocket; identity?: Identity; countedAs?: string };
type SocketContext = WsServerContext<Record<string, unknown> | undefined, SocketExtra>;

/**
 * graphql-ws close codes this server uses (README "Hardened edges"): 4408 no `connection_init`
 * in time, 4401 authentication failed (or lapsed), 4429 too many sockets of one identity, 1009 a message over
 * WS_MAX_MESSAGE_BYTES (closed by `ws` before the message is buffered whole), 4400 an invalid
 * message, 4409 a duplicate operation id, 4401 a subscribe before `connection_ack`. An operation over WS_MAX_SUBSCRIPTIONS_PER_SOCKET is refused with an
 * `error` message (CONNECTION_LIMIT_EXCEEDED): the socket and its other operations go on.
 */
export const TOO_MANY_SOCKETS_CLOSE_CODE = CloseCode.TooManyInitialisationRequests;

/**
 * The client's address: the socket's peer, or, behind proxies the Express app trusts (`trust
 * proxy`, TRUST_PROXY), the nearest untrusted address of X-Forwarded-For (as Express's `req.ip`).
 */
function clientAddress(req: IncomingMessage): string {
  const trust = (req as IncomingMessage & { app?: { get?(name: string): unknown } }).app?.get?.('trust proxy fn');
  const chain = [req.socket.remoteAddress ?? 'unknown'];
  const forwarded = req.headers['x-forwarded-for'];
  if (typeof forwarded === 'string') chain.push(...forwarded.split(',').map((part) => part.trim()).filter(Boolean).reverse());
  if (typeof trust !== 'function') return chain[0]!;
  for (let hop = 0; hop < chain.length - 1; hop++) if (!trust(chain[hop], hop)) return chain[hop]!;
  return chain.at(-1)!;
}

/** Message types only a server sends. */
const SERVER_MESSAGE_TYPES = new Set(['connection_ack', 'next', 'error']);

/**
 * A client that sends a server's message (`next`, `error`, `connection_ack`) makes graphql-ws
 * throw, and its WebSocket adapter closes with 4500 Internal Server Error: turned into an invalid
 * message here, it is closed with 4400 "Invalid message received" like any other bad frame.
 */
function refuseServerMessages(this: unknown, key: string, value: unknown): unknown {
  if (key === '' && value && typeof value === 'object' && SERVER_MESSAGE_TYPES.has((value as { type?: unknown }).type as string)) {
    return { type: 'refused' };
  }
  return value;
}

/**
 * The graphql-ws server on the base path. Ours rather than Nest's (GqlSubscriptionService), which
 * accepts any origin and any message size (ws's default: 100 MiB): this one refuses an upgrade
 * from an origin the CORS policy does not allow (HTTP 403, no socket), caps message size, sockets
 * per identity and operations per socket, and validates every document with the same limits as
 * HTTP (GraphQLLimits) before anything runs.
 */
@Injectable()
export class GraphQLWsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('GraphQLWs');
  private wss?: WebSocketServer;
  private dispose?: () => Promise<void> | void;
  private httpServer?: Server;
  private readonly socketsByIdentity = new Map<string, number>();
  private readonly validDocuments = new Map<string, DocumentNode>();
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly contexts: RequestContexts,
    private readonly edges: Edges,
    private readonly limits: GraphQLLimits,
    private readonly base: BasePath,
  ) {}

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!httpServer) return;
    const limits = this.edges.options.webSocket;
    const schema = this.schemaHost.schema;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
    const base = graphqlWsOptions(this.contexts);
    const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
      {
        ...(base as object),
        schema,
        connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
        jsonMessageReviver: refuseServerMessages,
        onConnect: async (ctx: SocketContext) => (await base.onConnect(ctx as never)) && this.admit(ctx),
        onClose: (ctx: SocketContext) => {
          base.onClose(ctx as never);
          this.release(ctx);
        },
        // The credentials are proved again first (a lapsed or revoked one closes 4401), then the limits.
        onSubscribe: async (ctx: SocketContext, _id: string, payload: SubscribePayload) =>
          (await base.onSubscribe(ctx as never)) ?? this.prepare(ctx, payload, schema),
      },
      this.wss,
    );
    this.dispose = () => server.dispose();
    this.httpServer = httpServer;
    httpServer.on('upgrade', this.onUpgrade);
  }

  /**
   * After every module's `onModuleDestroy`, so that the graceful drain (health/graceful-drain.ts)
   * still reaches WebSocket clients with their runs' terminal events before the sockets close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.httpServer?.off('upgrade', this.onUpgrade);
    await this.dispose?.();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    if (path !== this.base.path || !this.wss) return; // another upgrade handler's
    // The Express app's `trust proxy` decides whether X-Forwarded-Host counts (as for HTTP requests).
    (req as IncomingMessage & { app?: unknown }).app ??= this.adapterHost.httpAdapter?.getInstance();
    if (this.edges.origins?.judge(req) === 'denied') {
      this.logger.warn(`ORIGIN_NOT_ALLOWED: WebSocket upgrade from ${JSON.stringify(req.headers.origin)} refused (${req.socket.remoteAddress}).`);
      const body = JSON.stringify({ error: 'origin_not_allowed', code: 'ORIGIN_NOT_ALLOWED', message: `Origin ${JSON.stringify(req.headers.origin)} is not allowed: add it to CORS_ORIGINS.` });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    const wss = this.wss;
    wss.handleUpgrade(req, socket, head, (ws) => {
      // What a subscription sends in one turn (a batch of a run's events) is one TCP write.
      corkSendsPerTurn(ws, socket);
      wss.emit('connection', ws, req);
    });
  }

  /** One more socket for this identity (anonymous callers: for this address), or closed with 4429. */
  private admit(ctx: SocketContext): boolean {
    const { identity, request, socket } = ctx.extra;
    const key = !identity || identity.anonymous ? `address:${clientAddress(request)}` : `identity:${identity.id}`;
    const open = this.socketsByIdentity.get(key) ?? 0;
    const max = this.edges.options.webSocket.maxSocketsPerIdentity;
    if (open >= max) {
      this.logger.warn(`CONNECTION_LIMIT_EXCEEDED: ${key} already has ${open} WebSockets open (WS_MAX_SOCKETS_PER_IDENTITY=${max}).`);
      socket.close(TOO_MANY_SOCKETS_CLOSE_CODE, `Too many WebSockets for this identity (max ${max})`);
      return false;
    }
    this.socketsByIdentity.set(key, open + 1);
    ctx.extra.countedAs = key;
    return true;
  }

  private release(ctx: SocketContext): void {
    const key = ctx.extra.countedAs;
    if (!key) return;
    ctx.extra.countedAs = undefined;
    const open = (this.socketsByIdentity.get(key) ?? 1) - 1;
    if (open > 0) this.socketsByIdentity.set(key, open);
    else this.socketsByIdentity.delete(key);
  }

  /**
   * Everything before an operation runs, answered as the operation's `error` message: the
   * per-socket cap, the token limit (before parsing), parsing, and validation with the same
   * rules as HTTP (depth, aliases, directives, cost, one run per operation, introspection).
   */
  private prepare(ctx: SocketContext, payload: SubscribePayload, schema: GraphQLSchema) {
    const max = this.edges.options.webSocket.maxSubscriptionsPerSocket;
    // The new operation is already registered (as null) when this hook runs.
    if (Object.keys(ctx.subscriptions).length > max) {
      const message = `This WebSocket already runs ${max} operations: complete one first (WS_MAX_SUBSCRIPTIONS_PER_SOCKET).`;
      return [new GraphQLError(message, { originalError: new CopilotRuntimeError('CONNECTION_LIMIT_EXCEEDED', message) })];
    }
    const query = typeof payload?.query === 'string' ? payload.query : '';
    const document = this.validDocuments.get(query) ?? this.validate(query, schema);
    if (!('kind' in document)) return document;
    const variables = payload.variables;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
      return [new GraphQLError('"variables" must be a JSON object.', { extensions: { code: 'BAD_REQUEST' } })];
    }
    return { schema, document, operationName: payload.operationName ?? undefined, variableValues: variables ?? undefined };
  }

  /** Token limit, parsing and validation of a query not seen yet; a valid document is kept. */
  private validate(query: string, schema: GraphQLSchema): DocumentNode | readonly GraphQLError[] {
    const tooLong = this.limits.checkTokens(query);
    if (tooLong) return [tooLong];
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return [new GraphQLError((error as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
    }
    const errors = validate(schema, document, [...specifiedRules, ...this.limits.socketValidationRules]);
    if (errors.length > 0) {
      return errors.map((error) =>
        error.originalError ? error : new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
      );
    }
    if (query.length <= DOCUMENT_CACHE_MAX_QUERY_LENGTH) {
      if (this.validDocuments.size >= DOCUMENT_CACHE_SIZE) this.validDocuments.delete(this.validDocuments.keys().next().value!);
      this.validDocuments.set(query, document);
    }
    return document;
  }
}
