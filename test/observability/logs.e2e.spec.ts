import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AimockServer, startAimock } from '../support/aimock.js';
import { type TestDatabase, testDatabaseOptions } from '../support/database.js';
import { bearer } from '../support/durable-api.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, runInput, userMessage } from '../v2/support/v2-client.js';
import { databaseEnv } from '../health/database-rows.js';

/**
 * Structured logs of the real server process: one JSON object per line, every line of a request
 * with its request id (and identity, thread and run once known, and the errorId of an error), and
 * no secret anywhere: not the Authorization header, not the API key (even when the provider's
 * error message quotes it), not the database or Redis password, not the JWT secret.
 */
const API_KEY = 'sk-test-0123456789abcdefSECRET';
const JWT_SECRET = 'jwt-signing-secret-for-the-logs-test';
const DB_PASSWORD = 'database-password-never-logged';
const REDIS_PASSWORD = 'redis-password-never-logged';
const METRICS_TOKEN = 'metrics-token-never-logged';

describe('structured logs', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let server: RuntimeProcess;
  let authorization: string;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('hello', { content: 'Hello, logged world!' });
    // OpenAI quotes the rejected key in its message: it must not reach our log.
    llm.mock.onMessage('bad key', {
      error: { message: `Incorrect API key provided: ${API_KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' },
      status: 401,
    });
    db = await testDatabaseOptions();
    const dbEnv = databaseEnv(db);
    if (dbEnv.DATABASE_URL) {
      const url = new URL(dbEnv.DATABASE_URL);
      url.password = DB_PASSWORD; // ignored by the test server's trust authentication
      dbEnv.DATABASE_URL = url.toString();
    }
    server = await startRuntimeProcess({
      ...dbEnv,
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      AUTH_JWT_SECRET: JWT_SECRET,
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:1`,
      METRICS_TOKEN,
      LOG_LEVEL: 'verbose',
      LOG_FORMAT: 'json',
    });
    authorization = await bearer(JWT_SECRET, 'user-logs-1');
  });

  afterAll(async () => {
    await server?.close();
    await db?.cleanup();
    await llm?.stop();
  });

  const lines = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, any>;
        } catch {
          throw new Error(`Not a JSON log line: ${line}`);
        }
      });

  it("the request's line names the path the client asked for: a GraphQL POST to the base path is not logged as '/'", async () => {
    const reply = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization, 'x-request-id': 'req-graphql-path-1' },
      body: JSON.stringify({ query: '{ hello }' }),
    });
    expect(reply.status).toBe(200);
    await reply.text();
    const completion = await waitFor(() => lines().find((line) => line.requestId === 'req-graphql-path-1' && line.message?.startsWith('POST ')) ?? false);
    expect(completion).toMatchObject({ message: 'POST /api/copilotkit 200', req: { method: 'POST', path: '/api/copilotkit' }, res: { statusCode: 200 } });
  });

  it('writes one JSON object per line, each line of a run with its request id, identity, thread and run', async () => {
    const stream = openStream(
      `${server.url}/agent/default/run`,
      runInput({ threadId: 'logs-t1', runId: 'logs-r1', messages: [userMessage('u1', 'hello')] }),
      { authorization, 'x-request-id': 'req-from-the-balancer-1' },
    );
    const { status, headers } = await stream.done;
    expect(status).toBe(200);
    expect(headers.get('x-request-id')).toBe('req-from-the-balancer-1');

    const ofRequest = await waitFor(() => {
      const found = lines().filter((line) => line.requestId === 'req-from-the-balancer-1');
      return found.some((line) => line.message?.startsWith('POST ')) && found;
    });
    const completion = ofRequest.find((line) => line.message.startsWith('POST '))!;
    expect(completion).toMatchObject({
      level: 'info',
      message: 'POST /api/copilotkit/agent/default/run 200',
      req: { method: 'POST', path: '/api/copilotkit/agent/default/run' },
      res: { statusCode: 200 },
    });
    const ofRun = ofRequest.filter((line) => line.runId === 'logs-r1');
    expect(ofRun.length).toBeGreaterThan(0);
    for (const line of ofRun) expect(line).toMatchObject({ identity: 'user:user-logs-1', threadId: 'logs-t1' });
    for (const line of lines()) {
      expect(typeof line.level).toBe('string');
      expect(typeof line.time).toBe('string');
      expect(typeof line.message === 'string' || line.message === undefined).toBe(true);
    }
  });

  it('gives an error line its errorId as a field, with the run it belongs to', async () => {
    const stream = openStream(
      `${server.url}/agent/default/run`,
      runInput({ threadId: 'logs-t2', runId: 'logs-r2', messages: [userMessage('u2', 'bad key')] }),
      { authorization, 'x-request-id': 'req-bad-key-1' },
    );
    await stream.done;
    const runError = stream.events.find((event) => event.type === 'RUN_ERROR');
    expect(runError).toBeDefined();
    const line = await waitFor(() => lines().find((entry) => entry.requestId === 'req-bad-key-1' && entry.errorId) ?? false);
    expect(line.errorId).toMatch(/^err-/);
    expect(line).toMatchObject({ runId: 'logs-r2', threadId: 'logs-t2', identity: 'user:user-logs-1' });
  });

  it('gives a GraphQL error line its errorId and its request: parse, validation and resolver errors', async () => {
    const graphql = (requestId: string, query: string, variables?: object) =>
      fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization, 'x-request-id': requestId },
        body: JSON.stringify({ query, variables }),
      }).then((response) => response.json() as Promise<{ errors?: Array<{ extensions: { code: string; errorId: string } }> }>);

    const answers = {
      'req-gql-parse-1': await graphql('req-gql-parse-1', '{ hello'),
      'req-gql-validation-1': await graphql('req-gql-validation-1', '{ noSuchField }'),
      'req-gql-resolver-1': await graphql(
        'req-gql-resolver-1',
        'query($data: LoadAgentStateInput!) { loadAgentState(data: $data) { threadId } }',
        { data: { threadId: 'logs-t4', agentName: 'no-such-agent' } },
      ),
    };
    const codes = {
      'req-gql-parse-1': 'GRAPHQL_PARSE_FAILED',
      'req-gql-validation-1': 'GRAPHQL_VALIDATION_FAILED',
      'req-gql-resolver-1': 'AGENT_NOT_FOUND',
    };
    for (const [requestId, answer] of Object.entries(answers)) {
      const wire = answer.errors?.[0]?.extensions;
      expect(wire?.code).toBe(codes[requestId as keyof typeof codes]);
      const line = await waitFor(() => lines().find((entry) => entry.context === 'GraphQLErrors' && entry.errorId === wire!.errorId) ?? false);
      expect(line).toMatchObject({ requestId, identity: 'user:user-logs-1', level: 'warn' });
    }
  });

  it('never prints a secret: header, API key, passwords, JWT secret, metrics token', async () => {
    // A refused token, a wrong metrics token, and a readiness probe failing on Redis.
    await fetch(`${server.url}/agent/default/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.valid-token-value' },
      body: JSON.stringify(runInput({ threadId: 'logs-t3', runId: 'logs-r3', messages: [userMessage('u3', 'hello')] })),
    });
    await fetch(`${server.origin}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect((await fetch(`${server.origin}/health/ready`)).status).toBe(503);
    await waitFor(() => lines().some((line) => /AUTHENTICATION_ERROR|unauthorized|401/.test(JSON.stringify(line))));

    const output = server.output();
    const token = authorization.replace('Bearer ', '');
    for (const secret of [API_KEY, JWT_SECRET, DB_PASSWORD, REDIS_PASSWORD, METRICS_TOKEN, token, 'not.a.valid-token-value']) {
      expect(output).not.toContain(secret);
    }
    // No header is logged at all, so no credential header can be.
    expect(output).not.toMatch(/"authorization"|"cookie"/i);
  });
});
