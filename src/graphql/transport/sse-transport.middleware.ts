import { HeaderMap, type ApolloServer } from '@apollo/server';
import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { ApolloDriver } from '@nestjs/apollo';
import { ModuleRef } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLContext } from '../graphql-context.js';
import { EMPTY_PART } from './incremental-execution.js';
import { graphQLContextFor } from './http-context.js';
import { STREAM_HEADERS } from './stream-headers.js';

type BodyRequest = IncomingMessage & { body?: Record<string, unknown> };

/** `Accept: text/event-stream` without multipart: the GraphQL over SSE "distinct connections" mode. */
export function wantsEventStream(accept: string | undefined): boolean {
  return !!accept && /text\/event-stream/i.test(accept) && !/multipart\/mixed/i.test(accept);
}

/**
 * Serves GraphQL results as server-sent events (`event: next` per result, `event: complete` at
 * the end), which Apollo does not do. Execution still goes through Apollo (plugins, error
 * formatting, incremental delivery); only the framing differs from multipart.
 */
@Injectable()
export class SseTransportMiddleware implements NestMiddleware {
  private readonly logger = new Logger(SseTransportMiddleware.name);

  constructor(private readonly moduleRef: ModuleRef) {}

  use(req: BodyRequest, res: ServerResponse, next: () => void): void {
    if (req.method !== 'POST' || !wantsEventStream(req.headers.accept)) return next();
    this.serve(req, res).catch((error: unknown) => {
      this.logger.error(`SSE stream failed: ${(error as Error).message}`, (error as Error).stack);
      if (!res.writableEnded) res.end();
    });
  }

  private get apollo(): ApolloServer<GraphQLContext> {
    const driver = this.moduleRef.get(GraphQLModule, { strict: false }).graphQlAdapter as unknown as ApolloDriver;
    return driver.instance as unknown as ApolloServer<GraphQLContext>;
  }

  private async serve(req: BodyRequest, res: ServerResponse): Promise<void> {
    const contextValue = graphQLContextFor(req, res);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    headers.set('accept', 'multipart/mixed;deferSpec=20220824, application/json');

    res.writeHead(200, { ...STREAM_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' });
    res.flushHeaders();
    res.write(':\n\n');

    const body = req.body ?? {};
    const response = await this.apollo.executeOperation(
      {
        query: body.query as string,
        variables: body.variables as Record<string, unknown> | undefined,
        operationName: body.operationName as string | undefined,
        extensions: body.extensions as Record<string, unknown> | undefined,
        http: { method: 'POST', headers, search: '', body },
      },
      { contextValue },
    );

    const send = (payload: unknown) => res.write(`event: next\ndata: ${JSON.stringify(payload)}\n\n`);
    if (response.body.kind === 'single') {
      send(response.body.singleResult);
    } else {
      send(response.body.initialResult);
      // The executor's heartbeat parts become SSE comments, which every SSE client ignores.
      for await (const part of response.body.subsequentResults) {
        if (res.writableEnded || contextValue.request.signal.aborted) break;
        if (part === EMPTY_PART) res.write(': keep-alive\n\n');
        else send(part);
      }
    }
    if (!res.writableEnded) res.end('event: complete\ndata:\n\n');
  }
}
