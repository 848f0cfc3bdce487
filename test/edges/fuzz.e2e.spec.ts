import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import WebSocket from 'ws';
import { ERROR_CODES } from '../../src/common/errors.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { contractFixture } from '../support/contract-fixtures.js';
import { COPILOT_EVENTS, THREAD_EVENTS } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Fuzzing the three ways in (v1 GraphQL over HTTP, graphql-ws, v2 REST routes and the single
 * route) with requests generated from and mutated out of the real clients' captured requests
 * (test/fixtures/contract). After every case: no 5xx without a documented code (and never
 * UNKNOWN, the code of an unexpected error), no stack trace or file path on the wire; after every
 * batch: the process answers `{ hello }`, and the database gained threads and runs only for the
 * requests it accepted (a run that started). Bounded: a fixed number of cases per property
 * (FUZZ_SCALE scales them), a fixed seed (FUZZ_SEED to change it); the number of cases run is printed.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
/** Cases per property: FUZZ_SCALE multiplies them (0.1 for a smoke run, 10 for a long one). */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const V1_RUNS = Math.ceil(500 * SCALE);
const V2_RUNS = Math.ceil(700 * SCALE);
const WS_RUNS = Math.ceil(500 * SCALE);
const FRAME_RUNS = Math.ceil(300 * SCALE);
/** Bounded by the case count; this only keeps a machine shared by many test runs from failing it. */
const FUZZ_TIMEOUT_MS = 180_000;
const KNOWN_CODES = new Set(Object.keys(ERROR_CODES));

const v1Capture = (name: string) =>
  JSON.parse(readFileSync(contractFixture(`v1/wire/${name}.wire.json`), 'utf8'))[0].request as { headers: Record<string, string>; body: Record<string, any> };
const V1_SEEDS = ['text_chat', 'frontend_tool_call', 'backend_action', 'two_tools'].map(v1Capture);
const V2_SEEDS = ['run-body.json', 'run2-body.json'].map((name) => JSON.parse(readFileSync(contractFixture(`v2/wire/runtime-1.75.0/${name}`), 'utf8')));

let cases = 0;

// ---- generators: mutations of a captured JSON body ----------------------------------------

type Path = Array<string | number>;

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...prefix, i], out));
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) pathsOf(item, [...prefix, key], out);
  return out;
}

/**
 * A value nested `depth` levels, as a marker replaced in the serialised text (see serialise): the
 * test's own JSON.stringify would overflow its stack on thousands of levels.
 */
const NEST_MARKER = '__fuzz_nest__';
function nested(depth: number): unknown {
  return { [NEST_MARKER]: depth };
}

function serialise(value: unknown): string {
  return (JSON.stringify(value) ?? '').replace(new RegExp(`\\{"${NEST_MARKER}":(\\d+)\\}`, 'g'), (_, depth: string) => {
    const n = Number(depth);
    return `${'{"a":['.repeat(n)}{}${']}'.repeat(n)}`;
  });
}

const jsonMutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), key: fc.string({ maxLength: 12 }), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1000, max: 6000 })) }),
  fc.record({ kind: fc.constant('long' as const), at: fc.nat(), length: fc.integer({ min: 1000, max: 300_000 }) }),
  fc.record({ kind: fc.constant('unicode' as const), at: fc.nat(), value: fc.string({ unit: 'grapheme', maxLength: 40 }) }),
);
type JsonMutation = typeof jsonMutation extends fc.Arbitrary<infer T> ? T : never;

function applyJsonMutation(seed: unknown, mutation: JsonMutation): unknown {
  const copy = structuredClone(seed);
  const paths = pathsOf(copy);
  const path = paths[mutation.at % paths.length]!;
  const replacement = (): unknown => {
    switch (mutation.kind) {
      case 'replace':
      case 'unicode':
        return mutation.value;
      case 'nest':
        return nested(mutation.depth);
      case 'long':
        return 'x'.repeat(mutation.length);
      default:
        return undefined;
    }
  };
  if (path.length === 0) return mutation.kind === 'delete' ? undefined : mutation.kind === 'insert' ? copy : replacement();
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], copy);
  const key = path.at(-1)!;
  if (mutation.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (mutation.kind === 'insert') {
    const target = parent[key];
    if (target && typeof target === 'object' && !Array.isArray(target)) target[mutation.key] = mutation.value;
    else if (Array.isArray(target)) target.push(mutation.value);
    else parent[key] = mutation.value;
  } else {
    parent[key] = replacement();
  }
  return copy;
}

const textMutation = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), text: fc.string({ maxLength: 8 }) }) },
);

function applyTextMutation(text: string, mutation: fc.Arbitrary<unknown> extends never ? never : any): string {
  if (mutation.kind === 'truncate') return text.slice(0, mutation.at % (text.length + 1));
  if (mutation.kind === 'splice') {
    const at = mutation.at % (text.length + 1);
    return text.slice(0, at) + mutation.text + text.slice(at);
  }
  return text;
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-8', 'application/graphql-response+json', '') },
);

/** GraphQL documents: the client's, hostile shapes, and random text. */
const document = fc.oneof(
  fc.constantFrom(
    '{ hello }',
    '{ availableAgents { agents { id name description } } }',
    '{ threads { nodes { id title runs { id status } } } }',
    '{ __schema { types { name fields { name } } } }',
    'query { helo }',
    'mutation { deleteThread(id: "fz-missing") }',
    'subscription { threadEvents(threadId: "fz-missing") { type } }',
  ),
  fc.integer({ min: 1, max: 40 }).map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: hello`).join(' ')} }`),
  fc.integer({ min: 1, max: 5000 }).map((n) => `{ ${'hello '.repeat(n)}}`),
  fc.integer({ min: 1, max: 60 }).map((n) => `{ hello ${'@include(if: true) '.repeat(n)}}`),
  fc.integer({ min: 1, max: 30 }).map((n) => `{ threads { nodes { ${'forkedFrom { threadId } '.repeat(1)} } } ${'{'.repeat(n)}`),
  fc.string({ maxLength: 200 }),
);

// ---- wire checks ---------------------------------------------------------------------------

function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/node_modules/);
  expect(text).not.toMatch(/"stack"|\\n\s+at |\bat \S+ \(/);
  expect(text).not.toMatch(/\/(?:[\w.@-]+\/){2,}[\w.@-]+\.(?:ts|js|mjs|cjs)\b/);
  expect(text).not.toContain(process.cwd());
}

/** Every error code on the wire is documented and none is UNKNOWN (an unexpected error). */
function expectDocumentedCodes(value: unknown): void {
  const codes: unknown[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.errors)) for (const error of record.errors) codes.push((error as any)?.extensions?.code);
    Object.values(record).forEach(visit);
  };
  visit(value);
  for (const code of codes) {
    expect(KNOWN_CODES.has(String(code))).toBe(true);
    expect(code).not.toBe('UNKNOWN');
  }
}

function expectHttpAnswer(status: number, text: string): void {
  expectNoLeak(text);
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // SSE, multipart or empty: checked for leaks above
  }
  if (status >= 500) {
    expect(body).toEqual(expect.objectContaining({ code: expect.any(String) }));
    const code = (body as { code: string }).code;
    expect(KNOWN_CODES.has(code) && code !== 'UNKNOWN').toBe(true);
  }
  if (body) expectDocumentedCodes(body);
}

/**
 * graphql-ws spoken by hand on one socket, so that every frame the server sends is seen as is
 * (the graphql-ws client library hides close frames behind its own retries and errors).
 */
class RawGraphQLWs {
  closedWith: { code: number; reason: string } | null = null;
  private nextId = 0;
  private readonly listeners = new Set<(message: any) => void>();
  private readonly onClose = new Set<() => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      for (const listener of this.listeners) listener(message);
    });
    socket.once('close', (code, reason) => {
      this.closedWith = { code, reason: String(reason) };
      for (const listener of this.onClose) listener();
    });
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<RawGraphQLWs> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws');
      const raw = new RawGraphQLWs(socket);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      const acked = (message: any) => {
        if (message.type !== 'connection_ack') return;
        raw.listeners.delete(acked);
        resolve(raw);
      };
      raw.listeners.add(acked);
      raw.onClose.add(() => reject(new Error(`closed before ack: ${raw.closedWith?.code}`)));
    });
  }

  /** One operation until `complete`, `error` or the socket's close. */
  operation(payload: { query: string; variables: unknown }): Promise<{ results: unknown[]; errors?: unknown[]; closed?: { code: number; reason: string } }> {
    const id = String(++this.nextId);
    const results: unknown[] = [];
    return new Promise((resolve) => {
      const done = (outcome: { errors?: unknown[]; closed?: { code: number; reason: string } }) => {
        this.listeners.delete(listener);
        this.onClose.delete(closed);
        resolve({ results, ...outcome });
      };
      const listener = (message: any) => {
        if (message.id !== id) return;
        if (message.type === 'next') results.push(message.payload);
        else if (message.type === 'error') done({ errors: message.payload });
        else if (message.type === 'complete') done({});
      };
      const closed = () => done({ closed: this.closedWith! });
      this.listeners.add(listener);
      this.onClose.add(closed);
      this.socket.send(JSON.stringify({ id, type: 'subscribe', payload }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

// ---- the spec --------------------------------------------------------------------------------

describe('fuzz: generated and mutated requests on every way in', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  const accepted = { threads: new Set<string>(), runs: 0 };

  const database = () => rt.app.get(DataSource);
  const snapshot = async () => {
    await rt.persisted();
    await waitFor(async () => (await database().query(`SELECT count(*)::int AS n FROM runs WHERE status = 'running'`))[0].n === 0, { what: 'every run to end' });
    await rt.persisted();
    const threads = (await database().query('SELECT id FROM threads')).map((row: { id: string }) => row.id) as string[];
    const [{ n: runs }] = await database().query('SELECT count(*)::int AS n FROM runs');
    return { threads: new Set(threads), runs: runs as number };
  };

  const stillServing = async () => {
    const hello = await fetch(rt.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ hello }"}' });
    expect(await hello.json()).toEqual({ data: { hello: 'Hello World' } });
  };

  /** After a batch: the server still answers, and it stored only what it accepted. */
  async function afterBatch(before: { threads: Set<string>; runs: number }) {
    const after = await snapshot();
    const added = [...after.threads].filter((id) => !before.threads.has(id));
    for (const id of added) expect(accepted.threads.has(id) ? id : `not accepted: ${id}`).toBe(id);
    expect(after.runs - before.runs).toBe(accepted.runs);
    await stillServing();
    accepted.threads.clear();
    accepted.runs = 0;
  }

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage(/.*/, { content: 'Fuzzed answer.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL });
  });
  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
    console.log(`[fuzz] ${cases} cases run (seed ${SEED})`);
  });

  /** v1 GraphQL over HTTP: the client's captured mutations, mutated. */
  const fuzzV1 = async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: V1_SEEDS.length - 1 }),
        fc.array(jsonMutation, { maxLength: 3 }),
        textMutation,
        contentType,
        fc.option(document, { freq: 5 }),
        fc.constantFrom('application/json', 'multipart/mixed', 'text/event-stream', 'application/graphql-response+json'),
        async (seedIndex, mutations, text, type, query, accept) => {
          cases++;
          const seed = structuredClone(V1_SEEDS[seedIndex]!.body);
          seed.variables.data.threadId = `fz-v1-${n++}`;
          if (query !== null) seed.query = query;
          const body = mutations.reduce<unknown>((value, mutation) => applyJsonMutation(value, mutation), seed);
          const raw = applyTextMutation(serialise(body), text);
          const headers: Record<string, string> = { ...V1_SEEDS[seedIndex]!.headers, accept, 'content-type': type };
          if (!type) delete headers['content-type'];
          const response = await fetch(rt.url, { method: 'POST', headers, body: raw });
          const answer = await response.text();
          expectHttpAnswer(response.status, answer);
          // A run started: its thread id and run id are on the wire (JSON, multipart or SSE alike).
          const started = /"runId":"([^"]+)"/.exec(answer) && /"threadId":"([^"]+)"/.exec(answer);
          if (started) {
            accepted.threads.add(started[1]!);
            accepted.runs++;
          }
          for (const part of answer.split(/\r?\n/).filter((line) => line.startsWith('{'))) expectDocumentedCodes(JSON.parse(part));
        },
      ),
      { numRuns: V1_RUNS, seed: SEED },
    );
    await stillServing();
  };

  /** v2 REST routes and the single route: captured run bodies, mutated, on every route. */
  const fuzzV2 = async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: V2_SEEDS.length - 1 }),
        fc.array(jsonMutation, { maxLength: 3 }),
        textMutation,
        contentType,
        fc.constantFrom('run', 'connect', 'stop', 'envelope-run', 'envelope-connect', 'envelope-stop', 'info', 'unknown'),
        fc.constantFrom('default', 'nobody', '%E0%A4%A', '..'),
        async (seedIndex, mutations, text, type, route, agent) => {
          cases++;
          const seed = { ...structuredClone(V2_SEEDS[seedIndex]!), threadId: `fz-v2-${n}`, runId: `fz-v2-run-${n++}` };
          const mutated = mutations.reduce<unknown>((value, mutation) => applyJsonMutation(value, mutation), seed);
          const envelope = route.startsWith('envelope-');
          const method = route.replace('envelope-', '');
          const payload = envelope
            ? { method: `agent/${method}`, params: { agentId: agent, threadId: seed.threadId }, body: method === 'stop' ? { runId: seed.runId } : mutated }
            : method === 'stop'
              ? (mutated as { runId?: unknown })?.runId === undefined ? {} : { runId: (mutated as { runId?: unknown }).runId }
              : mutated;
          const raw = applyTextMutation(serialise(payload), text);
          const path = envelope ? '' : method === 'info' ? '/info' : method === 'unknown' ? `/agent/${agent}/x` : `/agent/${agent}/${method}${method === 'stop' ? `/${seed.threadId}` : ''}`;
          const headers: Record<string, string> = type ? { 'content-type': type, accept: 'text/event-stream' } : { accept: 'text/event-stream' };
          const response = await fetch(`${rt.url}${path}`, { method: method === 'info' ? 'GET' : 'POST', headers, body: method === 'info' ? undefined : raw });
          const answer = await response.text();
          expectHttpAnswer(response.status, answer);
          if (method === 'run' && response.status === 200) {
            const started = /"type":"RUN_STARTED","threadId":"([^"]+)"/.exec(answer) ?? /"type":"RUN_STARTED"[^\n]*"threadId":"([^"]+)"/.exec(answer);
            if (started) {
              accepted.threads.add(started[1]!);
              accepted.runs++;
            }
          }
        },
      ),
      { numRuns: V2_RUNS, seed: SEED + 1 },
    );
    await stillServing();
  };

  /** graphql-ws: generated documents and mutated copilotEvents inputs, and malformed protocol messages. */
  const fuzzWs = async () => {
    let socket = await RawGraphQLWs.open(rt.wsUrl);
    let n = 0;
    const copilotData = structuredClone(V1_SEEDS[0]!.body.variables.data);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          document.map((query) => ({ query, variables: {} as unknown })),
          fc.array(jsonMutation, { maxLength: 3 }).map((mutations) => ({
            query: COPILOT_EVENTS,
            variables: { data: mutations.reduce<unknown>((value, mutation) => applyJsonMutation(value, mutation), { ...copilotData, threadId: `fz-ws-${n++}` }) } as unknown,
          })),
          fc.jsonValue({ maxDepth: 2 }).map((variables) => ({ query: THREAD_EVENTS, variables })),
        ),
        async ({ query, variables }) => {
          cases++;
          if (socket.closedWith !== null) socket = await RawGraphQLWs.open(rt.wsUrl);
          const outcome = await socket.operation({ query, variables });
          expectNoLeak(JSON.stringify(outcome));
          expectDocumentedCodes({ errors: outcome.errors ?? [] });
          for (const result of outcome.results) expectDocumentedCodes(result);
          // The socket closed: a protocol error (a payload the protocol refuses), never 1011 (internal error).
          if (outcome.closed) expect([1009, 4400, 4409]).toContain(outcome.closed.code);
          const event = outcome.results.map((result) => Object.values((result as { data?: Record<string, any> }).data ?? {})[0]).find((e) => e?.type === 'RUN_STARTED');
          if (query === COPILOT_EVENTS && event) {
            accepted.threads.add(event.threadId);
            accepted.runs++;
          }
        },
      ),
      { numRuns: WS_RUNS, seed: SEED + 2 },
    );
    socket.close();

    // Raw protocol: whatever arrives after connection_init is answered by a close code of the protocol, never 1011.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 100 }), fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)), fc.record({ type: fc.constantFrom('subscribe', 'complete', 'ping', 'pong', 'next', 'connection_init'), id: fc.oneof(fc.string(), fc.nat()), payload: fc.jsonValue({ maxDepth: 2 }) }).map((m) => JSON.stringify(m))),
        async (message) => {
          cases++;
          const code = await new Promise<number | 'open'>((resolve) => {
            const socket = new WebSocket(rt.wsUrl, 'graphql-transport-ws');
            socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
            socket.on('message', (data) => {
              const type = JSON.parse(String(data)).type;
              if (type === 'connection_ack') {
                socket.send(message);
                // A valid message gets an answer or nothing: a ping closes the exchange.
                socket.send(JSON.stringify({ type: 'ping' }));
              } else if (type === 'pong') {
                socket.close();
                resolve('open');
              }
            });
            socket.once('close', (closeCode, reason) => {
              expectNoLeak(String(reason));
              resolve(closeCode);
            });
            socket.once('error', () => undefined);
          });
          expect(['open', 1000, 1005, 4400, 4409, 4429]).toContain(code);
        },
      ),
      { numRuns: FRAME_RUNS, seed: SEED + 3 },
    );
    await stillServing();
  };

  it('thousands of cases on v1 HTTP, v2 routes and graphql-ws, side by side: clean answers, only accepted runs stored, still serving', async () => {
    const before = await snapshot();
    // Side by side, as clients are: it also keeps the suite's wall time down.
    await Promise.all([fuzzV1(), fuzzV2(), fuzzWs()]);
    await afterBatch(before);
  }, FUZZ_TIMEOUT_MS);
});
