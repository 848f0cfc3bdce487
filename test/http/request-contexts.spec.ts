import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { identityResolverFor } from '../../src/auth/auth.module.js';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { CopilotRuntimeOptions } from '../../src/config/runtime-options.js';
import type { GraphQLContext } from '../../src/graphql/graphql-context.js';
import { graphqlWsOptions } from '../../src/graphql/transport/graphql-ws.options.js';
import { graphQLContextFor } from '../../src/graphql/transport/http-context.js';
import { IdentityMiddleware } from '../../src/graphql/transport/identity.middleware.js';
import { RequestContexts } from '../../src/http/request-contexts.js';
import { bearer } from '../support/durable-api.js';

const SECRET = 'request-contexts-secret-0123456789abcdef';
const ALICE = { id: 'user:alice', anonymous: false };

function request(headers: Record<string, string> = {}): IncomingMessage {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...headers } } as unknown as IncomingMessage;
}

/** What a GraphQL error answer needs of a response, and the close event the context listens to. */
class RecordedResponse extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
  readonly headers: Record<string, unknown> = {};
  body = '';
  /** Called when an answer was sent. */
  onEnd?: () => void;

  setHeader(name: string, value: unknown): void {
    this.headers[name.toLowerCase()] = value;
  }

  end(body = ''): void {
    this.body = body;
    this.writableFinished = true;
    this.onEnd?.();
  }
}

function response(): ServerResponse & RecordedResponse {
  return new RecordedResponse() as ServerResponse & RecordedResponse;
}

function contextsFor(options: CopilotRuntimeOptions): RequestContexts {
  return new RequestContexts(identityResolverFor(options));
}

/** GraphQL over HTTP: the identity middleware, then the context Apollo gets. */
async function viaGraphQLHttp(contexts: RequestContexts, headers: Record<string, string>) {
  const req = request(headers);
  const res = response();
  const passed = await new Promise<boolean>((resolve) => {
    res.onEnd = () => resolve(false);
    new IdentityMiddleware(contexts).use(req, res, () => resolve(true));
  });
  return { passed, res, context: passed ? graphQLContextFor(contexts, req, res).request : undefined };
}

/** AG-UI over HTTP: what the v2 handlers do before serving a call. */
function viaAgUi(contexts: RequestContexts, headers: Record<string, string>) {
  return contexts.resolveRequest(request(headers), response());
}

/** graphql-ws: onConnect with the upgrade request, then the context of one operation. */
async function viaWebSocket(
  contexts: RequestContexts,
  upgradeHeaders: Record<string, string>,
  connectionParams?: Record<string, unknown>,
) {
  const ws = graphqlWsOptions(contexts);
  const ctx = { extra: { request: request(upgradeHeaders) }, connectionParams };
  const accepted = await ws.onConnect(ctx);
  return { accepted, context: accepted ? (ws.context(ctx) as GraphQLContext).request : undefined };
}

describe('RequestContexts: one identity resolver for HTTP and WebSocket', () => {
  it('gives the same identity for the same token over GraphQL HTTP, AG-UI HTTP and graphql-ws', async () => {
    const contexts = contextsFor({ auth: { jwt: { secret: SECRET } } });
    const authorization = await bearer(SECRET, 'alice');

    const graphql = await viaGraphQLHttp(contexts, { authorization });
    const agui = await viaAgUi(contexts, { authorization });
    const wsParams = await viaWebSocket(contexts, {}, { authorization });
    const wsHeader = await viaWebSocket(contexts, { authorization });

    expect(graphql.context?.identity).toEqual(ALICE);
    expect(agui.identity).toEqual(ALICE);
    expect(wsParams.context?.identity).toEqual(ALICE);
    expect(wsHeader.context?.identity).toEqual(ALICE);
  });

  it('refuses the same bad token everywhere, each transport in its own shape', async () => {
    const contexts = contextsFor({ auth: { jwt: { secret: SECRET } } });
    const forged = await bearer('another-secret-entirely-0123456789', 'alice');

    const graphql = await viaGraphQLHttp(contexts, { authorization: forged });
    expect(graphql.passed).toBe(false);
    expect(graphql.res.statusCode).toBe(200);
    const [error] = JSON.parse(graphql.res.body).errors;
    expect(error.extensions.code).toBe('AUTHENTICATION_ERROR');

    const agui = await viaAgUi(contexts, { authorization: forged }).catch((thrown: unknown) => thrown);
    expect(agui).toBeInstanceOf(CopilotRuntimeError);
    expect((agui as CopilotRuntimeError).code).toBe('AUTHENTICATION_ERROR');
    expect((agui as CopilotRuntimeError).message).toBe(error.message);

    expect((await viaWebSocket(contexts, {}, { authorization: forged })).accepted).toBe(false);
    expect((await viaWebSocket(contexts, {})).accepted).toBe(false);
  });

  it('wraps what a custom resolver throws as an authentication failure, and is the anonymous identity without auth', async () => {
    const failing = contextsFor({
      auth: {
        resolveIdentity: () => {
          throw new Error('session store down');
        },
      },
    });
    const agui = await viaAgUi(failing, {}).catch((thrown: unknown) => thrown);
    expect((agui as CopilotRuntimeError).code).toBe('AUTHENTICATION_ERROR');
    expect((await viaWebSocket(failing, {})).accepted).toBe(false);

    const open = contextsFor({});
    const anonymous = { id: 'anonymous', anonymous: true };
    expect((await viaGraphQLHttp(open, {})).context?.identity).toEqual(anonymous);
    expect((await viaAgUi(open, {})).identity).toEqual(anonymous);
    expect((await viaWebSocket(open, {})).context?.identity).toEqual(anonymous);
  });

  it('resolves an HTTP request once, whichever part of the edge asks first', async () => {
    let calls = 0;
    const contexts = contextsFor({
      auth: {
        resolveIdentity: () => {
          calls++;
          return ALICE;
        },
      },
    });
    const req = request();
    await contexts.identifyRequest(req);
    await contexts.resolveRequest(req, response());
    expect(calls).toBe(1);
  });
});
