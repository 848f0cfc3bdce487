import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AbstractAgent, HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { AgentLimits } from '../../src/agents/agent-definition.js';
import { streamAgentRun, type AgentRunOptions } from '../../src/agents/agent-event-stream.js';
import { registerAgent } from '../../src/agents/agent-registration.js';
import type { AgUiRegisteredAgent } from '../../src/agents/agent-registry.js';
import { aguiScenarios, conversationEvents, startAguiServer, unusedPort, type AguiServer } from '../support/agui-server.js';
import { waitFor } from '../support/wait-for.js';

/**
 * streamAgentRun against a real AG-UI server on loopback, through the real HttpAgent: every fault
 * ends the run with exactly one RUN_ERROR naming the agent, the agent's HTTP request never stays
 * open, and an abort ends the run quietly.
 */

type RunError = BaseEvent & { message: string; code: string };

const FAST: AgentLimits = { firstEventTimeoutMs: 2_000, idleTimeoutMs: 2_000, totalTimeoutMs: 5_000 };

let server: AguiServer;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  // Every failure is logged as a warning: expected here, noise in the test output.
  Logger.overrideLogger(['error']);
  process.on('unhandledRejection', onUnhandled);
  server = await startAguiServer({
    chat: aguiScenarios.conversation(),
    'http-500': aguiScenarios.httpError(500),
    'http-401': aguiScenarios.httpError(401, 'bad token'),
    malformed: aguiScenarios.malformedSse(),
    invalid: aguiScenarios.invalidEvent(),
    early: aguiScenarios.contentBeforeStart(),
    mismatched: aguiScenarios.mismatchedIds(),
    late: aguiScenarios.eventsAfterFinish(),
    'run-error': aguiScenarios.runError(),
    unfinished: aguiScenarios.noTerminal(),
    crash: aguiScenarios.diesMidStream(),
    'crash-after-finish': aguiScenarios.diesAfterFinish(),
    hang: aguiScenarios.hang(),
    stall: aguiScenarios.hangAfterStart(),
    slow: aguiScenarios.slowFirstEvent(400),
    trickle: aguiScenarios.trickle(40),
    mixed: aguiScenarios.byThread({
      chat: aguiScenarios.conversation(5),
      down: aguiScenarios.httpError(503),
      stall: aguiScenarios.hangAfterStart(),
    }),
  });
});

afterAll(async () => {
  await server?.stop();
  process.off('unhandledRejection', onUnhandled);
});

let runs = 0;
function runInput(threadId?: string): RunAgentInput {
  runs += 1;
  return {
    threadId: threadId ?? `thread-${runs}`,
    runId: `run-${runs}`,
    messages: [{ id: 'u1', role: 'user', content: 'Hello agent' }],
    tools: [],
    context: [],
    state: { counter: 0 },
    forwardedProps: {},
  };
}

function httpAgent(id: string, route: string, limits: AgentLimits = FAST, headers?: Record<string, string>): AgUiRegisteredAgent {
  return registerAgent({ id, agent: new HttpAgent({ url: server.url(route), headers }), limits, origin: 'test' });
}

async function collect(
  agent: AgUiRegisteredAgent,
  input = runInput(),
  options?: AgentRunOptions,
  signal = new AbortController().signal,
): Promise<BaseEvent[]> {
  const events: BaseEvent[] = [];
  for await (const event of streamAgentRun(agent, input, signal, options)) events.push(event);
  return events;
}

function terminals(events: BaseEvent[]): BaseEvent[] {
  return events.filter((e) => e.type === EventType.RUN_FINISHED || e.type === EventType.RUN_ERROR);
}

/** Asserts the run ended with exactly one terminal event, a RUN_ERROR, last; returns it. */
function onlyRunError(events: BaseEvent[]): RunError {
  expect(terminals(events)).toHaveLength(1);
  const last = events.at(-1) as RunError;
  expect(last.type).toBe(EventType.RUN_ERROR);
  return last;
}

describe('a well-formed run', () => {
  it('passes every event through in order, RUN_STARTED first and RUN_FINISHED last', async () => {
    const input = runInput();
    const events = await collect(httpAgent('helper', 'chat'), input);
    expect(events.map((e) => e.type)).toEqual(conversationEvents(input).map((e) => e.type));
    expect(events[0]).toMatchObject({ type: EventType.RUN_STARTED, threadId: input.threadId, runId: input.runId });
    expect(events).toContainEqual(expect.objectContaining({ type: EventType.STATE_DELTA }));
    expect(terminals(events)).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);

    const request = server.requestsTo('chat').at(-1)!;
    expect(request.body).toMatchObject({ threadId: input.threadId, runId: input.runId, messages: input.messages, state: { counter: 0 } });
    await expect(request.closed).resolves.toBe('completed');
  });
});

describe('faults of an external agent end the run with exactly one RUN_ERROR', () => {
  it('HTTP 5xx: AGENT_FAILED with the status, not the body', async () => {
    const error = onlyRunError(await collect(httpAgent('flaky', 'http-500')));
    expect(error).toMatchObject({ code: 'AGENT_FAILED', message: "Agent 'flaky' failed: its server answered HTTP 500." });
    expect(error.message).not.toContain('stack trace');
  });

  it('HTTP 4xx: AGENT_FAILED with the status', async () => {
    const error = onlyRunError(await collect(httpAgent('locked', 'http-401')));
    expect(error).toMatchObject({ code: 'AGENT_FAILED', message: "Agent 'locked' failed: its server answered HTTP 401." });
  });

  it('server down (connection refused): AGENT_FAILED naming the socket error', async () => {
    const port = await unusedPort();
    const agent = registerAgent({ id: 'offline', agent: new HttpAgent({ url: `http://127.0.0.1:${port}/run` }), limits: FAST, origin: 'test' });
    const error = onlyRunError(await collect(agent));
    expect(error).toMatchObject({ code: 'AGENT_FAILED', message: "Agent 'offline' failed: its server could not be reached (ECONNREFUSED)." });
  });

  it('malformed SSE: AGENT_FAILED after the events that were fine, and the request is closed', async () => {
    const events = await collect(httpAgent('garbled', 'malformed'));
    expect(events[0]!.type).toBe(EventType.RUN_STARTED);
    const error = onlyRunError(events);
    expect(error.code).toBe('AGENT_FAILED');
    expect(error.message).toMatch(/^Agent 'garbled' failed: it sent malformed event data \(.+\)\.$/);
    await expect(server.requestsTo('malformed').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('JSON that is not an AG-UI event: AGENT_FAILED naming the invalid field', async () => {
    const error = onlyRunError(await collect(httpAgent('sloppy', 'invalid')));
    expect(error.code).toBe('AGENT_FAILED');
    expect(error.message).toMatch(/^Agent 'sloppy' failed: it sent an invalid AG-UI event \(.*messageId.*\)\.$/);
    await expect(server.requestsTo('invalid').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('content before RUN_STARTED: a grammar failure, and none of the content passes', async () => {
    const events = await collect(httpAgent('eager', 'early'));
    expect(events).toHaveLength(1);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_FAILED',
      message: "Agent 'eager' failed: it broke the AG-UI event order (First event must be 'RUN_STARTED').",
    });
  });

  it('content for a message id that was never started: a grammar failure', async () => {
    const error = onlyRunError(await collect(httpAgent('confused', 'mismatched')));
    expect(error.code).toBe('AGENT_FAILED');
    expect(error.message).toMatch(/^Agent 'confused' failed: it broke the AG-UI event order \(.*'m2'.*\)\.$/);
  });

  it('events after RUN_FINISHED: the run fails instead of finishing (one terminal event only)', async () => {
    const events = await collect(httpAgent('chatty', 'late'));
    const error = onlyRunError(events);
    expect(events.some((e) => e.type === EventType.RUN_FINISHED)).toBe(false);
    expect(error.code).toBe('AGENT_FAILED');
    expect(error.message).toMatch(/^Agent 'chatty' failed: it broke the AG-UI event order \(.*TEXT_MESSAGE_START.*RUN_FINISHED.*\)\.$/);
  });

  it("the agent's own RUN_ERROR: reworded to name the agent, its code kept in the message", async () => {
    const events = await collect(httpAgent('quota', 'run-error'));
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.RUN_ERROR]);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_FAILED',
      message: "Agent 'quota' reported an error: model quota exceeded (code quota)",
    });
  });

  it('a stream that ends without a terminal event: AGENT_FAILED', async () => {
    const events = await collect(httpAgent('quitter', 'unfinished'));
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TEXT_MESSAGE_START, EventType.RUN_ERROR]);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_FAILED',
      message: "Agent 'quitter' failed: its event stream ended without RUN_FINISHED or RUN_ERROR.",
    });
  });

  it('a server that drops the connection mid-answer: AGENT_FAILED, and the process survives', async () => {
    const events = await collect(httpAgent('crashy', 'crash'));
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TEXT_MESSAGE_START, EventType.RUN_ERROR]);
    const error = onlyRunError(events);
    expect(error.code).toBe('AGENT_FAILED');
    expect(error.message).toMatch(/^Agent 'crashy' failed: the connection to its server broke \(terminated.*\)\.$/);
  });

  it('a connection dropped after RUN_FINISHED loses nothing: the run finished', async () => {
    const events = await collect(httpAgent('abrupt', 'crash-after-finish'));
    expect(terminals(events)).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);
  });

  it('an agent whose factory throws for this run: AGENT_FAILED, nothing started', async () => {
    let calls = 0;
    const agent = registerAgent({
      id: 'fragile',
      // The first call is the registry's check at boot; the run's call fails.
      agent: () => {
        if (++calls > 1) throw new Error('no API key for this tenant');
        return new HttpAgent({ url: server.url('chat') });
      },
      limits: FAST,
      origin: 'test',
    });
    const events = await collect(agent);
    expect(events).toHaveLength(1);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_FAILED',
      message: "Agent 'fragile' failed: could not create an instance (no API key for this tenant).",
    });
  });

  it('an in-process agent that throws: AGENT_FAILED with its message', async () => {
    class Broken extends AbstractAgent {
      override run(): never {
        throw new Error('graph not compiled');
      }
    }
    const agent = registerAgent({ id: 'broken', agent: () => new Broken(), limits: FAST, origin: 'test' });
    const error = onlyRunError(await collect(agent));
    expect(error).toMatchObject({ code: 'AGENT_FAILED', message: "Agent 'broken' failed: graph not compiled" });
  });
});

describe('limits', () => {
  it('no first event in time (a server that never answers): AGENT_TIMEOUT, request aborted', async () => {
    const agent = httpAgent('sleepy', 'hang', { firstEventTimeoutMs: 200, idleTimeoutMs: 0, totalTimeoutMs: 0 });
    const events = await collect(agent);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_TIMEOUT',
      message: "Agent 'sleepy' timed out: no event within 200 ms of the start (firstEventTimeoutMs).",
    });
    expect(events).toHaveLength(1);
    await expect(server.requestsTo('hang').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('a slow first event under the first-event limit is fine; over it, the run times out', async () => {
    const patient = await collect(httpAgent('patient', 'slow', { firstEventTimeoutMs: 3_000, idleTimeoutMs: 100, totalTimeoutMs: 0 }));
    expect(terminals(patient)).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);

    const impatient = await collect(httpAgent('impatient', 'slow', { firstEventTimeoutMs: 200, idleTimeoutMs: 0, totalTimeoutMs: 0 }));
    expect(onlyRunError(impatient)).toMatchObject({ code: 'AGENT_TIMEOUT', message: expect.stringContaining('(firstEventTimeoutMs)') });
    await expect(server.requestsTo('slow').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('silence after some events: AGENT_TIMEOUT for the idle limit, after what was sent', async () => {
    const events = await collect(httpAgent('mute', 'stall', { firstEventTimeoutMs: 0, idleTimeoutMs: 200, totalTimeoutMs: 0 }));
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TEXT_MESSAGE_START, EventType.RUN_ERROR]);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_TIMEOUT',
      message: "Agent 'mute' timed out: no event for 200 ms (idleTimeoutMs).",
    });
    await expect(server.requestsTo('stall').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('a run that never ends although it keeps sending: AGENT_TIMEOUT for the total limit', async () => {
    const events = await collect(httpAgent('endless', 'trickle', { firstEventTimeoutMs: 0, idleTimeoutMs: 1_000, totalTimeoutMs: 300 }));
    expect(events.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT).length).toBeGreaterThan(0);
    expect(onlyRunError(events)).toMatchObject({
      code: 'AGENT_TIMEOUT',
      message: "Agent 'endless' timed out: the run took longer than 300 ms (totalTimeoutMs).",
    });
    await expect(server.requestsTo('trickle').at(-1)!.closed).resolves.toBe('aborted');
  });
});

describe('abort', () => {
  it('ends quietly (no terminal event) and closes the agent request', async () => {
    const controller = new AbortController();
    const events: BaseEvent[] = [];
    for await (const event of streamAgentRun(httpAgent('stoppable', 'stall'), runInput(), controller.signal)) {
      events.push(event);
      if (event.type === EventType.TEXT_MESSAGE_START) controller.abort();
    }
    expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.TEXT_MESSAGE_START]);
    await expect(server.requestsTo('stall').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('before the agent answered anything: ends quietly and closes the request', async () => {
    const controller = new AbortController();
    const before = server.requestsTo('hang').length;
    const run = collect(httpAgent('waiting', 'hang'), runInput(), undefined, controller.signal);
    await waitFor(() => server.requestsTo('hang').length > before);
    controller.abort();
    await expect(run).resolves.toEqual([]);
    await expect(server.requestsTo('hang').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('a consumer that stops reading early also closes the agent request', async () => {
    for await (const event of streamAgentRun(httpAgent('abandoned', 'stall'), runInput(), new AbortController().signal)) {
      if (event.type === EventType.RUN_STARTED) break;
    }
    await expect(server.requestsTo('stall').at(-1)!.closed).resolves.toBe('aborted');
  });

  it('an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = server.requests.length;
    await expect(collect(httpAgent('never', 'chat'), runInput(), undefined, controller.signal)).resolves.toEqual([]);
    expect(server.requests.length).toBe(before);
  });
});

describe('isolation', () => {
  it('a failing, a hanging and an aborted run leave concurrent runs of the same agent unaffected', async () => {
    const agent = httpAgent('shared', 'mixed', { firstEventTimeoutMs: 2_000, idleTimeoutMs: 200, totalTimeoutMs: 5_000 });
    const stopper = new AbortController();
    const [good1, down, stalled, aborted, good2] = await Promise.all([
      collect(agent, runInput('chat:1')),
      collect(agent, runInput('down:1')),
      collect(agent, runInput('stall:1')),
      (async () => {
        const events: BaseEvent[] = [];
        for await (const event of streamAgentRun(agent, runInput('stall:2'), stopper.signal)) {
          events.push(event);
          if (event.type === EventType.TEXT_MESSAGE_START) stopper.abort();
        }
        return events;
      })(),
      collect(agent, runInput('chat:2')),
    ]);
    for (const good of [good1, good2]) {
      expect(terminals(good)).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);
      expect(good.filter((e) => e.type === EventType.TEXT_MESSAGE_CONTENT)).toHaveLength(2);
    }
    expect(onlyRunError(down)).toMatchObject({ code: 'AGENT_FAILED', message: "Agent 'shared' failed: its server answered HTTP 503." });
    expect(onlyRunError(stalled)).toMatchObject({ code: 'AGENT_TIMEOUT' });
    expect(terminals(aborted)).toEqual([]);

    // And the agent still serves the next run.
    expect(terminals(await collect(agent, runInput('chat:3')))).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);
  });

  it('every run gets a fresh instance: what one run does to its agent is not seen by the next', async () => {
    const created: Counter[] = [];
    class Counter extends AbstractAgent {
      override run(input: RunAgentInput): never {
        this.state = { touchedBy: input.runId };
        return new Observable<BaseEvent>((subscriber) => {
          subscriber.next({ type: EventType.RUN_STARTED, threadId: input.threadId, runId: input.runId } as BaseEvent);
          subscriber.next({ type: EventType.STATE_SNAPSHOT, snapshot: { seen: (this.state as { touchedBy: string }).touchedBy } } as BaseEvent);
          subscriber.next({ type: EventType.RUN_FINISHED, threadId: input.threadId, runId: input.runId } as BaseEvent);
          subscriber.complete();
        }) as never;
      }
      override clone(): Counter {
        const copy = super.clone() as Counter;
        created.push(copy);
        return copy;
      }
    }
    const prototype = new Counter({ initialState: { pristine: true } });
    const agent = registerAgent({ id: 'counter', agent: prototype, limits: FAST, origin: 'test' });
    await collect(agent, runInput());
    await collect(agent, runInput());
    expect(created).toHaveLength(2);
    expect(created[0]).not.toBe(created[1]);
    expect(created).not.toContain(prototype);
    expect(prototype.state).toEqual({ pristine: true });
  });
});

describe('forwarded headers', () => {
  it("reach the agent's request under its own configured headers (server-set headers win)", async () => {
    const agent = httpAgent('secured', 'chat', FAST, { Authorization: 'Bearer server-token', 'X-Agent-Key': 'server-key' });
    const events = await collect(agent, runInput(), {
      forwardedHeaders: {
        authorization: 'Bearer user-token',
        'x-agent-key': 'client-key',
        'x-user-id': 'user-7',
        'accept-language': 'fr',
        'content-length': '1',
        host: 'evil.example',
      },
    });
    expect(terminals(events)).toEqual([expect.objectContaining({ type: EventType.RUN_FINISHED })]);
    const { headers } = server.requestsTo('chat').at(-1)!;
    expect(headers.authorization).toBe('Bearer server-token');
    expect(headers['x-agent-key']).toBe('server-key');
    expect(headers['x-user-id']).toBe('user-7');
    expect(headers['accept-language']).toBe('fr');
    expect(headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(headers['content-type']).toBe('application/json');
    expect(headers.accept).toBe('text/event-stream');

    // Only that run's instance had them: the next run without forwarded headers sends none.
    await collect(agent, runInput());
    const next = server.requestsTo('chat').at(-1)!.headers;
    expect(next['x-user-id']).toBeUndefined();
    expect(next.authorization).toBe('Bearer server-token');
  });
});

describe('the process', () => {
  it('saw no unhandled rejection from any of the runs above', () => {
    expect(unhandled).toEqual([]);
  });
});
