import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { ApiKeys } from '../../src/auth/api-keys.service.js';
import { runApiKeysCommand } from '../../src/cli/api-keys-command.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { userMessage } from '../support/chat-runs.js';
import { chatInput } from '../support/copilot-client.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import { gql, onlyError, postGenerate, subscribe, THREADS, wsClient, COPILOT_EVENTS, type GqlReply } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { parseSse, postJson, runInput, send, userMessage as v2Message, type RawReply } from '../v2/support/v2-client.js';

/**
 * Identity (issue 12): JWKS with key rotation, API keys through the admin CLI, the same identity
 * on v1 HTTP, graphql-ws and v2, authentication failures answered alike (v1 AUTHENTICATION_ERROR
 * with 200, v2 401, graphql-ws close 4401) and logged as security events with the caller's
 * address and the errorId the caller got; credentials that lapse on a live socket close it with 4401.
 */
const ISSUER = 'https://idp.test/';
const AUDIENCE = 'copilot-runtime';
const MESSAGES = {
  missing: 'Authentication required: send "Authorization: Bearer <token>".',
  rejected: 'The credentials were rejected.',
  expired: 'The credentials have expired.',
};

/** A loopback identity provider publishing a JWK set that a test can rotate. */
async function startJwksServer() {
  let keys: JWK[] = [];
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    fetches += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish: (next: JWK[]) => (keys = next),
    fetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const sign = (subject: string, claims: { expiresAt?: number; issuer?: string } = {}) => {
    let token = new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject(subject)
      .setIssuer(claims.issuer ?? ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt();
    token = token.setExpirationTime(claims.expiresAt ?? Math.floor(Date.now() / 1000) + 3600);
    return token.sign(privateKey).then((jwt) => `Bearer ${jwt}`);
  };
  return { jwk, sign };
}

/** Runs the admin CLI in-process, as `node dist/src/cli.js api-keys ...` does. */
async function cli(db: TestDatabase, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runApiKeysCommand(argv, db.options, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

function keyFrom(created: { out: string[] }): { key: string; id: string } {
  const key = /(ck_[\w-]+)/.exec(created.out[0]!)![1]!;
  return { key, id: JSON.parse(created.out[1]!).id };
}

/** A graphql-ws connection's fate on its first subscription: its events, or the close code and reason. */
async function wsOutcome(wsUrl: string, params: Record<string, unknown> | undefined, threadId: string) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve) => socket.on('open', resolve));
  socket.send(JSON.stringify({ type: 'connection_init', payload: params }));
  const messages: Array<Record<string, any>> = [];
  socket.on('message', (data) => {
    const message = JSON.parse(data.toString());
    messages.push(message);
    if (message.type === 'connection_ack') {
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: COPILOT_EVENTS, variables: { data: chatInput({ threadId, messages: [userMessage(`${threadId}-u`, 'Hello identity')] }) } },
        }),
      );
    }
    if (message.type === 'complete' || message.type === 'error') socket.close(1000);
  });
  const close = await closed;
  return { close, messages };
}

describe('identity: JWKS, API keys, failures alike on every transport', () => {
  let llm: AimockServer;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let rt: RuntimeApp;
  let db: TestDatabase;
  let first: Awaited<ReturnType<typeof signingKey>>;
  let second: Awaited<ReturnType<typeof signingKey>>;
  let aliceKey: { key: string; id: string };
  let shortKey: { key: string; id: string };
  const security: unknown[] = [];

  const threadsOf = async (headers: Record<string, string>) => {
    const reply = await gql(rt.url, THREADS, {}, headers);
    if (reply.body.errors) throw new Error(JSON.stringify(reply.body.errors));
    return (reply.body.data.threads.nodes as Array<{ id: string }>).map((thread) => thread.id).sort();
  };

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('Hello identity', { content: 'Hello, whoever you are.' });
    jwks = await startJwksServer();
    first = await signingKey('key-1');
    second = await signingKey('key-2');
    jwks.publish([first.jwk]);

    // The admin path, before the server runs (with the embedded database one process owns it).
    db = await testDatabaseOptions();
    aliceKey = keyFrom(await cli(db, 'create', '--owner', 'user:alice', '--name', 'alice-ci'));
    shortKey = keyFrom(await cli(db, 'create', '--owner', 'user:alice', '--name', 'short-lived', '--expires-in', '3s'));

    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      db,
      options: { auth: { jwt: { jwksUrl: jwks.url, jwks: { cooldownMs: 0 }, issuer: ISSUER, audience: AUDIENCE } } },
    });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await rt?.close();
    await db?.cleanup();
    await jwks?.close();
    await llm?.stop();
  });

  describe('the admin CLI', () => {
    it('creates (the key shown once, stored hashed), lists and refuses bad input precisely', async () => {
      expect(aliceKey.key).toMatch(/^ck_[\w-]{43}$/);
      const listed = await rt.app.get(ApiKeys).list('user:alice');
      expect(listed.map((key) => key.name).sort()).toEqual(['alice-ci', 'short-lived']);
      const rows = await rt.app.get(DataSource).query('SELECT key_hash, prefix FROM api_keys');
      expect(JSON.stringify(rows)).not.toContain(aliceKey.key);
      expect(rows.every((row: { key_hash: string }) => /^[0-9a-f]{64}$/.test(row.key_hash))).toBe(true);

      const missing = await cli(db, 'create', '--name', 'x');
      expect(missing).toMatchObject({ code: 2, out: [] });
      expect(missing.err[0]).toMatch(/^create needs --owner\./);
      const badLimit = await cli(db, 'create', '--owner', 'user:a', '--name', 'x', '--runs-per-minute', 'lots');
      expect(badLimit.err[0]).toMatch(/^--runs-per-minute must be a whole number, got lots\./);
      expect((await cli(db, 'rotate')).code).toBe(2);
    });
  });

  describe('JWKS', () => {
    it('verifies tokens against the published set and picks up a rotated key by its kid', async () => {
      const alice1 = await first.sign('alice');
      expect(await threadsOf({ authorization: alice1 })).toEqual([]);

      jwks.publish([second.jwk]);
      const alice2 = await second.sign('alice');
      const fetchesBefore = jwks.fetches();
      expect(await threadsOf({ authorization: alice2 })).toEqual([]);
      expect(jwks.fetches()).toBeGreaterThan(fetchesBefore);

      // The retired key is gone from the set: its tokens no longer pass.
      const retired = onlyError(await gql(rt.url, THREADS, {}, { authorization: alice1 }));
      expect(retired).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: MESSAGES.rejected });
      const wrongIssuer = onlyError(await gql(rt.url, THREADS, {}, { authorization: await second.sign('alice', { issuer: 'https://evil.test/' }) }));
      expect(wrongIssuer).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: MESSAGES.rejected });
    });
  });

  describe('API keys', () => {
    it('are their owner on v1 HTTP, v2 and graphql-ws, as Bearer ck_... or X-API-Key', async () => {
      const v1 = await postGenerate(rt.url, chatInput({ threadId: 'key-v1', messages: [userMessage('key-v1-u', 'Hello identity')] }), {
        authorization: `Bearer ${aliceKey.key}`,
      });
      expect(v1.text).toContain('"status":{"code":"Success"}');
      expect(v1.text).not.toContain('"errors"');

      const v2 = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: 'key-v2', runId: 'key-v2-r', messages: [v2Message('key-v2-u', 'Hello identity')] }), {
        'x-api-key': aliceKey.key,
      });
      expect(v2.status).toBe(200);
      expect(parseSse(v2.text).events.at(-1)).toMatchObject({ type: 'RUN_FINISHED' });

      const ws = await wsOutcome(rt.wsUrl, { 'x-api-key': aliceKey.key }, 'key-ws');
      expect(ws.messages.filter((m) => m.type === 'next').at(-1)?.payload.data.copilotEvents).toMatchObject({ type: 'RUN_FINISHED' });

      // One identity: alice's browser session (a JWKS token) sees the threads her key made.
      const alice = await second.sign('alice');
      expect(await threadsOf({ authorization: alice })).toEqual(['key-v1', 'key-v2', 'key-ws']);
      expect(await threadsOf({ authorization: await second.sign('bob') })).toEqual([]);
    });

    it('an expired key is refused as expired, and a socket opened with it closes 4401 when it lapses', async () => {
      const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws');
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      const acked = new Promise((resolve) => socket.on('message', (data) => JSON.parse(data.toString()).type === 'connection_ack' && resolve(true)));
      await new Promise((resolve) => socket.on('open', resolve));
      const lapsing = await rt.app.get(ApiKeys).create({ ownerId: 'user:alice', name: 'lapsing', expiresAt: new Date(Date.now() + 1_500) });
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${lapsing.key}` } }));
      await acked;
      // The server's timer at the key's expiry closes the socket: no message from the client needed.
      expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/^Unauthorized: The credentials have expired\. \(err-[\w-]+\)$/) });

      // The CLI's `--expires-in 3s` key: refused as expired once its time is up.
      const reply = await waitFor(async () => {
        const answer = await send(`${rt.url}/info`, { method: 'GET', headers: { 'x-api-key': shortKey.key } });
        return answer.status === 401 && answer;
      }, { what: 'the 3 s key to expire' });
      expect(JSON.parse(reply.text)).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: MESSAGES.expired });
    });

    it('a revoked key stops working at once, on HTTP and on the next subscribe of a live socket', async () => {
      const created = await rt.app.get(ApiKeys).create({ ownerId: 'user:carol', name: 'to-revoke' });
      const ws = wsClient(rt.wsUrl, `Bearer ${created.key}`);
      const before = await subscribe(ws, COPILOT_EVENTS, {
        data: chatInput({ threadId: 'revoke-ws-1', messages: [userMessage('revoke-u1', 'Hello identity')] }),
      });
      expect(before.errors).toBeUndefined();

      // Revoked through the same service as `api-keys revoke` (the CLI's own run is above).
      await rt.app.get(ApiKeys).revoke(created.record.id);
      const after = await subscribe(ws, COPILOT_EVENTS, {
        data: chatInput({ threadId: 'revoke-ws-2', messages: [userMessage('revoke-u2', 'Hello identity')] }),
      });
      await ws.dispose();
      expect(after.events).toEqual([]);
      expect(after.errors).toMatchObject({ code: 4401 });
      expect(onlyError(await gql(rt.url, THREADS, {}, { 'x-api-key': created.key }))).toMatchObject({ message: MESSAGES.rejected });
    });

    it('revoke and list through the CLI', async () => {
      if (db.kind === 'pglite') return; // the embedded database belongs to the running server
      const listed = await cli(db, 'list', '--owner', 'user:alice', '--json');
      expect(JSON.parse(listed.out[0]!).map((key: { name: string }) => key.name).sort()).toEqual(['alice-ci', 'lapsing', 'short-lived']);
      const revoked = await cli(db, 'revoke', aliceKey.id);
      expect(revoked.code).toBe(0);
      expect(revoked.out[0]).toMatch(new RegExp(`^Revoked ${aliceKey.id} \\(alice-ci, owner user:alice\\)`));
      expect((await cli(db, 'revoke', 'key-nope')).code).toBe(1);
    });
  });

  describe('failures, alike on every transport', () => {
    const captureSecurityLog = () => {
      const lines: Array<Record<string, any>> = [];
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
        if ((this as unknown as { context?: string }).context === 'Security') lines.push(message as Record<string, any>);
      });
      return lines;
    };

    for (const [kind, headers] of [
      ['missing', async () => ({}) as Record<string, string>],
      ['rejected', async () => ({ authorization: `Bearer ${(await first.sign('alice')).slice(7, -4)}AAAA` })],
      ['expired', async () => ({ authorization: await second.sign('alice', { expiresAt: Math.floor(Date.now() / 1000) - 60 }) })],
    ] as const) {
      it(`${kind} credentials: v1 200 AUTHENTICATION_ERROR, v2 401, graphql-ws 4401, one message, each logged with the caller's address and its errorId`, async () => {
        const log = captureSecurityLog();
        const auth = await headers();

        const v1: GqlReply = await gql(rt.url, THREADS, {}, auth);
        expect(v1.status).toBe(200);
        const v1Error = onlyError(v1);
        expect(v1Error).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: MESSAGES[kind] });

        const v2: RawReply = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: `fail-${kind}`, runId: `fail-${kind}-r` }), auth);
        expect(v2.status).toBe(401);
        expect(v2.headers.get('www-authenticate')).toBe('Bearer');
        const v2Body = JSON.parse(v2.text);
        expect(v2Body).toEqual({ error: 'unauthorized', code: 'AUTHENTICATION_ERROR', message: MESSAGES[kind], errorId: expect.stringMatching(/^err-/) });

        const ws = await wsOutcome(rt.wsUrl, auth.authorization ? { authorization: auth.authorization } : undefined, `fail-${kind}-ws`);
        expect(ws.close.code).toBe(4401);
        expect(ws.close.reason).toMatch(new RegExp(`^Unauthorized: ${MESSAGES[kind].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
        const wsErrorId = /\((err-[\w-]+)\)$/.exec(ws.close.reason)![1];

        expect(log.map((line) => line.errorId)).toEqual([v1Error.extensions.errorId, v2Body.errorId, wsErrorId]);
        for (const line of log) {
          expect(line).toMatchObject({ event: 'authentication_failed', reason: kind, address: expect.stringMatching(/127\.0\.0\.1$/) });
        }
        expect(log.map((line) => line.transport)).toEqual(['http', 'http', 'graphql-ws']);
        // Nothing was run for these callers.
        expect(llm.chatRequests().some((body) => JSON.stringify(body.messages).includes(`fail-${kind}`))).toBe(false);
      });
    }

    it('a token that expires on a live socket closes it with 4401 at its exp', async () => {
      const expiresAt = Math.floor(Date.now() / 1000) + 2;
      const token = await second.sign('alice', { expiresAt });
      const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws');
      const closed = new Promise<{ code: number; at: number }>((resolve) => socket.on('close', (code) => resolve({ code, at: Date.now() })));
      const acked = new Promise((resolve) => socket.on('message', (data) => JSON.parse(data.toString()).type === 'connection_ack' && resolve(true)));
      await new Promise((resolve) => socket.on('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: token } }));
      await acked;
      const { code, at } = await closed;
      expect(code).toBe(4401);
      expect(at).toBeGreaterThanOrEqual(expiresAt * 1000);
    });
  });
});
