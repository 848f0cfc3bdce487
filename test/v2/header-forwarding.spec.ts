import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { forwardableHeaders, resolveHeaderForwarding } from '../../src/agui/header-forwarding.js';
import { parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { CopilotRuntimeService } from '../../src/runtime/copilot-runtime.service.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { postJson, runInput, userMessage } from './support/v2-client.js';

/** What a browser behind a CDN, a load balancer and a tracing proxy typically sends. */
const INBOUND = {
  host: 'app.example.com',
  cookie: 'session=secret',
  'content-type': 'application/json',
  accept: 'text/event-stream',
  authorization: 'Bearer user-token',
  'x-tenant': 'acme',
  'x-user-locale': 'fr',
  'x-forwarded-for': '203.0.113.7',
  'x-forwarded-proto': 'https',
  'x-real-ip': '203.0.113.7',
  'x-request-id': 'edge-123',
  'x-amzn-trace-id': 'Root=1-abc',
  'x-amz-cf-id': 'cf-1',
  'x-goog-authenticated-user-email': 'a@b.c',
  'x-cloud-trace-context': 'abc/1',
  'x-b3-traceid': 'b3',
  'x-copilotcloud-public-api-key': 'ck_pub_secret',
  'x-vercel-id': 'v1',
  traceparent: '00-abc-def-01',
  tracestate: 'vendor=1',
};

describe('forwardableHeaders', () => {
  it('by default: authorization and x-* headers, minus proxy, cloud, tracing and platform ones', () => {
    expect(forwardableHeaders(INBOUND, resolveHeaderForwarding(undefined))).toEqual({
      authorization: 'Bearer user-token',
      'x-tenant': 'acme',
      'x-user-locale': 'fr',
    });
  });

  it('deny adds names and prefixes (case-insensitive) to the built-in list', () => {
    const policy = resolveHeaderForwarding({ deny: ['Authorization', 'X-USER-*'] });
    expect(forwardableHeaders(INBOUND, policy)).toEqual({ 'x-tenant': 'acme' });
  });

  it('allow forwards exactly those (even a default-denied one, deliberately), minus deny', () => {
    const policy = resolveHeaderForwarding({ allow: ['x-tenant', 'x-request-id', 'traceparent', 'x-user-*'], deny: ['x-user-locale'] });
    expect(forwardableHeaders(INBOUND, policy)).toEqual({ 'x-tenant': 'acme', 'x-request-id': 'edge-123', traceparent: '00-abc-def-01' });
  });

  it('an empty allow list is no allow list; stray empty entries match nothing', () => {
    expect(resolveHeaderForwarding({ allow: [], deny: ['', ' '] })).toEqual(resolveHeaderForwarding(undefined));
  });

  it('repeated headers are joined, absent ones skipped', () => {
    expect(forwardableHeaders({ 'x-tag': ['a', 'b'], 'x-none': undefined }, resolveHeaderForwarding(undefined))).toEqual({ 'x-tag': 'a, b' });
  });

  it("never the runtime's own API keys, even when allowed", () => {
    const inbound = { authorization: 'Bearer ck_secretkey', 'x-api-key': 'ck_secretkey', 'x-tenant': 'acme' };
    expect(forwardableHeaders(inbound, resolveHeaderForwarding(undefined))).toEqual({ 'x-tenant': 'acme' });
    expect(forwardableHeaders(inbound, resolveHeaderForwarding({ allow: ['authorization', 'x-api-key'] }))).toEqual({});
    expect(forwardableHeaders({ authorization: 'Bearer eyJhbGciOi', 'x-api-key': 'partner-key' }, resolveHeaderForwarding(undefined))).toEqual({
      authorization: 'Bearer eyJhbGciOi',
      'x-api-key': 'partner-key',
    });
  });

  it('FORWARD_HEADERS_ALLOW / FORWARD_HEADERS_DENY: comma-separated lists in the module options', () => {
    const env = parseEnvironment({ FORWARD_HEADERS_ALLOW: 'x-tenant, authorization,', FORWARD_HEADERS_DENY: 'x-internal-*' });
    expect(optionsFromEnvironment(env).headerForwarding).toEqual({ allow: ['x-tenant', 'authorization'], deny: ['x-internal-*'] });
    expect(optionsFromEnvironment(parseEnvironment({})).headerForwarding).toEqual({ allow: undefined, deny: undefined });
  });
});

describe('a v2 run hands the forwardable headers to the runtime', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('headers please', { content: 'ok' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { headerForwarding: { deny: ['x-user-locale'] } } });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('as `forwardedHeaders` of the run, by the configured policy', async () => {
    const start = jest.spyOn(rt.app.get(CopilotRuntimeService), 'run');
    const { host: _host, 'content-type': _type, ...sent } = INBOUND;
    const reply = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({ threadId: 'fwd-thread', runId: 'fwd-run', messages: [userMessage('f1', 'headers please')] }),
      sent,
    );
    expect(reply.status).toBe(200);
    expect(start).toHaveBeenCalledTimes(1);
    const [, request, options] = start.mock.calls[0]!;
    expect(request.forwardedHeaders).toEqual({ authorization: 'Bearer user-token', 'x-tenant': 'acme' });
    expect(request.properties).toEqual({});
    expect(options).toEqual({ protocol: 'v2', behaviour: { serverToolResults: 'model', stateTools: true }, onCallerGone: 'continue' });
  });
});
