import { HeaderMap, type ApolloServer } from '@apollo/server';
import { Injectable, Logger, type NestMiddleware } from '@nestjs/common';
import type { ApolloDriver } from '@nestjs/apollo';
import { ModuleRef } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContexts } from '../../http/request-contexts.js';
import { SseWriter } from '../../http/sse-writer.js';
import type { GraphQLContext } from '../graphql-context.js';
import { graphQLContextFor } from './http-context.js';
import { EMPTY_PART } from './incremental-execution.js';

type BodyRequest = IncomingMessage & { body?: Record<string, unknown> };

const CONTENT_TYPE = 'text/event-stream; charset=utf-8';
/** Sent first, so the client sees the stream open before execution starts. */
const OPENING = ':\n\n';
/** The executor's heartbeat parts (EMPTY_PART) become SSE comments, which every SSE client ignores. */
const KEEP_ALIVE = ': keep-alive\n\n';
const COMPLETE = 'event: complete\ndata:\n\n';

const nextFrame = (payload: unknown) => `event: next\ndata: ${JSON.stringify(payload)}\n\n`;

/** `Accept: text/event-stream` without multipart: the GraphQL over SSE "distinct connections" mode. */
export function wantsEventStream(accept: string | undefined): boolean {
  return !!accept && /text\/event-stream/i.test(accept) && !/multipart\/mixed/i.test(accept);
}

/**
 * Serves GraphQL results as server-sent events (`event: next` per result, `event: complete` at
 * the end), which Apollo does not do. Execution still goes through Apollo (plugins, error
 * formatting, incremental delivery); only the framing differs from multipart. Written by the
 * edge's SseWriter (back-pressure); the heartbeat is the executor's, shared with multipart.
 */
@Injectable()
export class SseTransportMiddleware implements NestMiddleware {
  private readonly logger = new Logger(SseTransportMiddleware.name);

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly contexts: RequestContexts,
  ) {}

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
    const contextValue = graphQLContextFor(this.contexts, req, res);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    headers.set('accept', 'multipart/mixed;deferSpec=20220824, application/json');

    const sse = SseWriter.open(res, CONTENT_TYPE);
    await sse.write(OPENING);

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

    const signal = contextValue.request.signal;
    async function* frames(): AsyncGenerator<string> {
      if (response.body.kind === 'single') {
        yield nextFrame(response.body.singleResult);
        return;
      }
      yield nextFrame(response.body.initialResult);
      for await (const part of response.body.subsequentResults) {
        if (signal.aborted) return;
        yield part === EMPTY_PART ? KEEP_ALIVE : nextFrame(part);
      }
    }
    await sse.pipe(frames());
    sse.end(COMPLETE);
  }
}
