import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { DataSource } from 'typeorm';
import { ApiKeys } from '../../src/auth/api-keys.service.js';
import type { LimitsOptions } from '../../src/limits/limits-options.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { userMessage } from '../support/chat-runs.js';
import { chatInput } from '../support/copilot-client.js';
import { bearer, COPILOT_EVENTS, multipartErrors, postGenerate, subscribe, wsClient } from './support.js';
import { startLlmGate, type LlmGate } from '../support/llm-gate.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { openStream, postJson, runInput, userMessage as v2Message, type RawReply } from '../v2/support/v2-client.js';

/**
 * Limits per identity and per API key (issue 12): runs per minute, model tokens per hour and
 * concurrent runs, each refused over v1 (RATE_LIMITED, `retryAfter`, HTTP 200), v2 (429,
 * `Retry-After`, `RateLimit-*`) and graphql-ws (an error message) before anything is stored or the
 * model is called; tokens charged from the run's reported usage; counters in a real Redis
 * (127.0.0.1:6379, a unique key prefix per spec) shared by two instances; Redis down handled as
 * configured, never a hang.
 */
const SECRET = 'limits-spec-secret-0123456789abcdef';
const REDIS_URL = 'redis://127.0.0.1:6379';
const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };

const prefix = `crn:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
let redis: Redis;

/** Rows anything wrote for a thread. */
async function storedRows(dataSource: DataSource, threadId: string): Promise<number> {
  const [row] = await dataSource.query(
    `SELECT (SELECT count(*) FROM threads WHERE id = $1) + (SELECT count(*) FROM runs WHERE thread_id = $1)
          + (SELECT count(*) FROM messages WHERE thread_id = $1) AS n`,
    [threadId],
  );
  return Number(row.n);
}

/** A TCP port with nothing listening on it (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectRateLimitHeaders(reply: RawReply, limit: number) {
  const retryAfter = Number(reply.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(reply.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(reply.headers.get('ratelimit-remaining')).toBe('0');
  expect(reply.headers.get('ratelimit-reset')).toBe(String(retryAfter));
  return retryAfter;
}

describe('limits per identity and per API key', () => {
  let llm: AimockServer;
  const apps: RuntimeApp[] = [];
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  const start = async (limits: LimitsOptions, extra: { llmBaseUrl?: string } = {}) => {
    // Each instance on its own database: what they share is Redis (and the embedded database is one process's).
    const rt = await startRuntimeApp({
      llmBaseUrl: extra.llmBaseUrl ?? llm.baseURL,
      options: { auth: { jwt: { secret: SECRET } }, limits },
    });
    apps.push(rt);
    return rt;
  };
  const modelCalls = (marker: string) => llm.chatRequests().filter((body) => JSON.stringify(body.messages).includes(marker)).length;
  const v1Chat = (rt: RuntimeApp, threadId: string, text: string, headers: Record<string, string>) =>
    postGenerate(rt.url, chatInput({ threadId, messages: [userMessage(`${threadId}-u`, text)] }), headers);
  const v2Run = (rt: RuntimeApp, threadId: string, text: string, headers: Record<string, string>) =>
    postJson(`${rt.url}/agent/default/run`, runInput({ threadId, runId: `${threadId}-r`, messages: [v2Message(`${threadId}-u`, text)] }), headers);

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('limited', { content: 'Within limits.', usage: USAGE } as any);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    alice = { authorization: await bearer(SECRET, 'alice') };
    bob = { authorization: await bearer(SECRET, 'bob') };
  });

  afterAll(async () => {
    for (const rt of apps) await rt.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await llm?.stop();
  });

  it('runs per minute: the third run is refused on v1, v2 and graphql-ws alike; nothing stored, no model call; other callers unaffected', async () => {
    const rt = await start({ runsPerMinute: 2, redis: { url: REDIS_URL, keyPrefix: `${prefix}rpm:` } });
    const dataSource = rt.app.get(DataSource);
    expect((await v1Chat(rt, 'rpm-1', 'limited rpm-1', alice)).text).toContain('"code":"Success"');
    expect((await v2Run(rt, 'rpm-2', 'limited rpm-2', alice)).status).toBe(200);

    // v1: a GraphQL error with HTTP 200, the code and retryAfter in extensions.
    const v1 = await v1Chat(rt, 'rpm-3', 'limited rpm-3', alice);
    expect(v1.status).toBe(200);
    const [v1Error] = multipartErrors(v1.text);
    expect(v1Error).toMatchObject({
      message: expect.stringMatching(/^Rate limit reached: this caller may use 2 runs per minute; try again in \d+ s\.$/),
      extensions: { code: 'RATE_LIMITED', statusCode: 429, retryAfter: expect.any(Number) },
    });
    expect(v1Error!.extensions.retryAfter).toBeGreaterThanOrEqual(1);
    expect(v1Error!.extensions.retryAfter).toBeLessThanOrEqual(60);

    // v2: 429 with Retry-After and the RateLimit-* fields.
    const v2 = await v2Run(rt, 'rpm-4', 'limited rpm-4', alice);
    expect(v2.status).toBe(429);
    const retryAfter = expectRateLimitHeaders(v2, 2);
    expect(JSON.parse(v2.text)).toEqual({
      error: 'Too many requests',
      code: 'RATE_LIMITED',
      message: `Rate limit reached: this caller may use 2 runs per minute; try again in ${retryAfter} s.`,
      errorId: expect.stringMatching(/^err-/),
      retryAfter,
    });

    // graphql-ws: an error message on the operation.
    const ws = wsClient(rt.wsUrl, alice.authorization);
    const refused = await subscribe(ws, COPILOT_EVENTS, { data: chatInput({ threadId: 'rpm-5', messages: [userMessage('rpm-5-u', 'limited rpm-5')] }) });
    await ws.dispose();
    expect(refused.events).toEqual([]);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } }]);

    for (const threadId of ['rpm-3', 'rpm-4', 'rpm-5']) {
      expect(await storedRows(dataSource, threadId)).toBe(0);
      expect(modelCalls(`limited ${threadId}`)).toBe(0);
    }
    expect(modelCalls('limited rpm-1')).toBe(1);
    // Bob has his own budget.
    expect((await v2Run(rt, 'rpm-bob', 'limited rpm-bob', bob)).status).toBe(200);
  });

  it('tokens per hour: charged from the run’s reported usage; the run after the budget is spent is refused', async () => {
    const rt = await start({ tokensPerHour: 30, redis: { url: REDIS_URL, keyPrefix: `${prefix}tph:` } });
    expect((await v2Run(rt, 'tph-1', 'limited tph-1', alice)).status).toBe(200);
    // Charged after the run is recorded (afterRun): aimock reported 18 tokens.
    const charged = async () => Number(await redis.get(`${prefix}tph:{id%3Auser%3Aalice}:tokens`));
    await expectEventually(charged, 18);
    expect((await v2Run(rt, 'tph-2', 'limited tph-2', alice)).status).toBe(200);
    await expectEventually(charged, 36);

    const refused = await v2Run(rt, 'tph-3', 'limited tph-3', alice);
    expect(refused.status).toBe(429);
    expectRateLimitHeaders(refused, 30);
    expect(JSON.parse(refused.text).message).toMatch(/^Rate limit reached: this caller may use 30 model tokens per hour; try again in \d+ s\.$/);
    expect(modelCalls('limited tph-3')).toBe(0);
    expect(await storedRows(rt.app.get(DataSource), 'tph-3')).toBe(0);
  });

  describe('concurrent runs', () => {
    let gate: LlmGate;
    beforeAll(async () => {
      gate = await startLlmGate(llm.url);
    });
    afterAll(async () => {
      await gate?.stop();
    });

    it('a second run while one is running is refused; the slot is freed when the run ends', async () => {
      const rt = await start({ concurrentRuns: 1, redis: { url: REDIS_URL, keyPrefix: `${prefix}conc:` } }, { llmBaseUrl: gate.baseURL });
      const held = gate.hold('limited conc-1');
      const first = openStream(`${rt.url}/agent/default/run`, runInput({ threadId: 'conc-1', runId: 'conc-1-r', messages: [v2Message('conc-1-u', 'limited conc-1')] }), alice);
      await first.next('RUN_STARTED');

      const second = await v2Run(rt, 'conc-2', 'limited conc-2', alice);
      expect(second.status).toBe(429);
      expectRateLimitHeaders(second, 1);
      expect(JSON.parse(second.text).message).toMatch(/this caller may use 1 runs at the same time/);
      const v1 = multipartErrors((await v1Chat(rt, 'conc-3', 'limited conc-3', alice)).text);
      expect(v1).toMatchObject([{ extensions: { code: 'RATE_LIMITED', retryAfter: 1 } }]);
      expect((await v2Run(rt, 'conc-bob', 'limited conc-bob', bob)).status).toBe(200);

      held.release();
      expect((await first.done).events.at(-1)).toMatchObject({ type: 'RUN_FINISHED' });
      await expectEventually(async () => (await v2Run(rt, 'conc-4', 'limited conc-4', alice)).status, 200);
      expect(modelCalls('limited conc-2') + modelCalls('limited conc-3')).toBe(0);
    });
  });

  it('an API key has its own limits, counted apart from its owner’s other credentials', async () => {
    const rt = await start({ runsPerMinute: 3, redis: { url: REDIS_URL, keyPrefix: `${prefix}key:` } });
    const { key } = await rt.app.get(ApiKeys).create({ ownerId: 'user:alice', name: 'tight', limits: { runsPerMinute: 1 } });
    expect((await v2Run(rt, 'key-1', 'limited key-1', { 'x-api-key': key })).status).toBe(200);
    const refused = await v2Run(rt, 'key-2', 'limited key-2', { 'x-api-key': key });
    expect(refused.status).toBe(429);
    expectRateLimitHeaders(refused, 1);
    expect(JSON.parse(refused.text).message).toMatch(/^Rate limit reached: this API key may use 1 runs per minute/);
    // Alice's browser session keeps the global budget.
    expect((await v2Run(rt, 'key-3', 'limited key-3', alice)).status).toBe(200);
  });

  it('two instances sharing Redis hold one limit', async () => {
    const limits = { runsPerMinute: 3, redis: { url: REDIS_URL, keyPrefix: `${prefix}shared:` } };
    const a = await start(limits);
    const b = await start(limits);
    expect((await v2Run(a, 'two-1', 'limited two-1', alice)).status).toBe(200);
    expect((await v2Run(b, 'two-2', 'limited two-2', alice)).status).toBe(200);
    expect((await v2Run(a, 'two-3', 'limited two-3', alice)).status).toBe(200);
    const onB = await v2Run(b, 'two-4', 'limited two-4', alice);
    const onA = await v2Run(a, 'two-5', 'limited two-5', alice);
    expect([onB.status, onA.status]).toEqual([429, 429]);
    expect(modelCalls('limited two-4') + modelCalls('limited two-5')).toBe(0);
  });

  describe('Redis down', () => {
    // The outage is logged (once per 30 s) as an error: expected here, kept out of the test output.
    beforeEach(() => {
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    });
    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('open (the default): runs go through without per-caller limits, and the server keeps answering', async () => {
      const rt = await start({ runsPerMinute: 1, redis: { url: `redis://127.0.0.1:${await closedPort()}`, keyPrefix: prefix } });
      expect((await v2Run(rt, 'down-open-1', 'limited down-open-1', alice)).status).toBe(200);
      expect((await v2Run(rt, 'down-open-2', 'limited down-open-2', alice)).status).toBe(200);
      expect((await v1Chat(rt, 'down-open-3', 'limited down-open-3', alice)).text).toContain('"code":"Success"');
    });

    it('a Redis that accepts connections and never answers: no hang, the runs are served (open)', async () => {
      const silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const sockets: Array<import('node:net').Socket> = [];
      silent.on('connection', (socket) => sockets.push(socket));
      try {
        const port = (silent.address() as { port: number }).port;
        const rt = await start({ runsPerMinute: 1, redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: prefix } });
        expect((await v2Run(rt, 'silent-1', 'limited silent-1', alice)).status).toBe(200);
        expect((await v2Run(rt, 'silent-2', 'limited silent-2', alice)).status).toBe(200);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('closed: runs are refused as OVERLOADED (503, Retry-After), nothing stored, no model call', async () => {
      const rt = await start({ runsPerMinute: 1, onStoreFailure: 'closed', redis: { url: `redis://127.0.0.1:${await closedPort()}`, keyPrefix: prefix } });
      const v2 = await v2Run(rt, 'down-closed-1', 'limited down-closed-1', alice);
      expect(v2.status).toBe(503);
      expect(v2.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(v2.text)).toMatchObject({ code: 'OVERLOADED', message: 'Usage limits cannot be checked right now; try again in 5 s.', retryAfter: 5 });
      expect(multipartErrors((await v1Chat(rt, 'down-closed-2', 'limited down-closed-2', alice)).text)).toMatchObject([
        { extensions: { code: 'OVERLOADED', retryAfter: 5 } },
      ]);
      expect(await storedRows(rt.app.get(DataSource), 'down-closed-1')).toBe(0);
      expect(modelCalls('limited down-closed')).toBe(0);
    });
  });
});

/** Polls until `read` gives `expected` (a charge lands after the run's answer is complete). */
async function expectEventually(read: () => Promise<unknown>, expected: unknown): Promise<void> {
  const { waitFor } = await import('../support/wait-for.js');
  await waitFor(async () => (await read()) === expected, { what: `the value ${String(expected)}` }).catch(async () => {
    expect(await read()).toBe(expected);
  });
}
