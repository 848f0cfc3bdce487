import type { Message } from '@ag-ui/core';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { RequestContext } from '../../src/common/request-context.js';
import { ConversationStore, type RunRecord, type RunStatus } from '../../src/ports/conversation-store.js';
import { ThreadCatalog, type ThreadSummary } from '../../src/ports/thread-catalog.js';
import type { AgentRunner, StopOutcome } from '../../src/runs/agent-runner.js';
import type { LoggedEvent } from '../../src/runs/logged-event.js';
import { RunsService } from '../../src/runs/runs.service.js';
import { ThreadsService } from '../../src/threads/threads.service.js';
import { isRetryableDatabaseError } from '../../src/persistence/database-errors.js';
import { FakeEventLogStore } from './run-fakes.js';

const ALICE = 'alice';
const BOB = 'bob';

interface StoredThread {
  ownerId: string;
  runs: RunRecord[];
  messages: Message[];
}

/** Threads and runs of several owners; `failWith` makes every catalog read fail. */
class World {
  readonly threads = new Map<string, StoredThread>();
  /** What the service did, in order: its reads of messages and runs, and its runner calls. */
  readonly calls: string[] = [];
  failWith: Error | null = null;

  addThread(threadId: string, ownerId: string, messages: Message[] = []): void {
    this.threads.set(threadId, { ownerId, runs: [], messages });
  }

  addRun(threadId: string, runId: string, status: RunStatus): void {
    this.threads.get(threadId)!.runs.push({
      id: runId,
      threadId,
      status,
      agentName: null,
      model: null,
      startedAt: new Date(0),
      finishedAt: status === 'running' ? null : new Date(1),
      error: null,
      usage: null,
    });
  }
}

class FakeCatalog extends ThreadCatalog {
  constructor(private readonly world: World) {
    super();
  }

  async get(ownerId: string, threadId: string): Promise<ThreadSummary | null> {
    if (this.world.failWith) throw this.world.failWith;
    const thread = this.world.threads.get(threadId);
    if (!thread || thread.ownerId !== ownerId) return null;
    return {
      id: threadId,
      ownerId,
      title: null,
      agentName: null,
      createdAt: new Date(0),
      updatedAt: new Date(0),
      lastRunStatus: thread.runs.at(-1)?.status ?? null,
      messageCount: thread.messages.length,
      forkedFrom: null,
      archived: false,
    };
  }

  async runs(ownerId: string, threadId: string): Promise<RunRecord[] | null> {
    this.world.calls.push(`runs ${threadId}`);
    const thread = this.world.threads.get(threadId);
    return thread && thread.ownerId === ownerId ? [...thread.runs] : null;
  }

  list(): never {
    throw new Error('not used');
  }
  rename(): never {
    throw new Error('not used');
  }
  setArchived(): never {
    throw new Error('not used');
  }
  delete(): never {
    throw new Error('not used');
  }
  fork(): never {
    throw new Error('not used');
  }
  deleteExpired(): never {
    throw new Error('not used');
  }
}

class FakeStore extends ConversationStore {
  constructor(private readonly world: World) {
    super();
  }

  async listMessages(threadId: string): Promise<Message[]> {
    this.world.calls.push(`messages ${threadId}`);
    return this.world.threads.get(threadId)?.messages ?? [];
  }

  async findRun(runId: string): Promise<RunRecord | null> {
    for (const thread of this.world.threads.values()) {
      const run = thread.runs.find((candidate) => candidate.id === runId);
      if (run) return run;
    }
    return null;
  }

  recordRunStarted(): never {
    throw new Error('not used');
  }
  recordRunFinished(): never {
    throw new Error('not used');
  }
  findThread(): never {
    throw new Error('not used');
  }
}

/** An AgentRunner that answers stops as scripted and records what it was asked (the interface only). */
class ScriptedRunner implements AgentRunner {
  stopOutcome: StopOutcome = { stopped: false, reason: 'not_running', message: 'nothing to stop' };
  readonly liveEvents: LoggedEvent[] = [];

  constructor(private readonly world: World) {}

  run(): never {
    throw new Error('not used');
  }

  async isRunning(): Promise<boolean> {
    return false;
  }

  async stop(target: { threadId?: string; runId?: string }): Promise<StopOutcome> {
    this.world.calls.push(`stop ${JSON.stringify(target)}`);
    return this.stopOutcome;
  }

  connect(threadId: string, afterSequence: number, signal: AbortSignal): AsyncIterable<LoggedEvent> {
    this.world.calls.push(`connect ${threadId} after ${afterSequence} ${signal.aborted ? 'aborted' : 'open'}`);
    const events = this.liveEvents;
    return (async function* () {
      yield* events;
    })();
  }
}

function ctxOf(ownerId: string): RequestContext {
  return { requestId: 'req', identity: { id: ownerId, anonymous: false }, headers: {}, signal: new AbortController().signal, log: { requestId: 'req' } };
}

function logged(threadId: string, runId: string, sequence: number): LoggedEvent {
  return { threadId, runId, sequence, event: { type: 'RUN_STARTED', threadId, runId } as LoggedEvent['event'] };
}

async function codeOf(pending: Promise<unknown>): Promise<string> {
  const error = await pending.then(
    () => {
      throw new Error('expected a rejection');
    },
    (caught: unknown) => caught,
  );
  return error instanceof CopilotRuntimeError ? `${error.code}: ${error.message}` : `other: ${(error as Error).message}`;
}

describe('RunsService', () => {
  let world: World;
  let runner: ScriptedRunner;
  let log: FakeEventLogStore;
  let service: RunsService;

  beforeEach(() => {
    world = new World();
    runner = new ScriptedRunner(world);
    log = new FakeEventLogStore();
    const store = new FakeStore(world);
    service = new RunsService(runner, new ThreadsService(new FakeCatalog(world), store, isRetryableDatabaseError), store, log);
    world.addThread('t-alice', ALICE, [{ id: 'u1', role: 'user', content: 'hi' }]);
    world.addRun('t-alice', 'r-done', 'succeeded');
    world.addRun('t-alice', 'r-live', 'running');
    world.addThread('t-bob', BOB);
    world.addRun('t-bob', 'r-bob', 'running');
  });

  const runnerCalls = () => world.calls.filter((call) => call.startsWith('stop') || call.startsWith('connect'));

  describe('stop', () => {
    it('stops the caller\'s run by its id, asking the runner by run id', async () => {
      runner.stopOutcome = { stopped: true, threadId: 't-alice', runId: 'r-live' };
      await expect(service.stop(ctxOf(ALICE), { runId: 'r-live' })).resolves.toEqual({
        stopped: true,
        threadId: 't-alice',
        runId: 'r-live',
      });
      expect(runnerCalls()).toEqual(['stop {"runId":"r-live"}']);
    });

    it('stops the active run of the caller\'s thread', async () => {
      runner.stopOutcome = { stopped: true, threadId: 't-alice', runId: 'r-live' };
      await expect(service.stop(ctxOf(ALICE), { threadId: 't-alice' })).resolves.toEqual({
        stopped: true,
        threadId: 't-alice',
        runId: 'r-live',
      });
      expect(runnerCalls()).toEqual(['stop {"threadId":"t-alice"}']);
    });

    it('reports another identity\'s run exactly like an unknown one, and touches nothing', async () => {
      const foreign = await codeOf(service.stop(ctxOf(ALICE), { runId: 'r-bob' }));
      const unknown = await codeOf(service.stop(ctxOf(ALICE), { runId: 'r-nope' }));
      expect(foreign).toBe('RUN_NOT_FOUND: Run "r-bob" was not found.');
      expect(unknown).toBe('RUN_NOT_FOUND: Run "r-nope" was not found.');
      expect(runnerCalls()).toEqual([]);
    });

    it('reports another identity\'s thread exactly like an unknown one, and touches nothing', async () => {
      const foreign = await codeOf(service.stop(ctxOf(ALICE), { threadId: 't-bob', runId: 'r-bob' }));
      const unknown = await codeOf(service.stop(ctxOf(ALICE), { threadId: 't-nope' }));
      expect(foreign).toBe('THREAD_NOT_FOUND: Thread "t-bob" was not found.');
      expect(unknown).toBe('THREAD_NOT_FOUND: Thread "t-nope" was not found.');
      expect(runnerCalls()).toEqual([]);
    });

    it('answers "not running" with the run\'s thread and the runner\'s message', async () => {
      runner.stopOutcome = { stopped: false, reason: 'not_running', message: 'The run r-done already finished.' };
      await expect(service.stop(ctxOf(ALICE), { runId: 'r-done' })).resolves.toEqual({
        stopped: false,
        threadId: 't-alice',
        runId: 'r-done',
        message: 'The run r-done already finished.',
      });
      runner.stopOutcome = { stopped: false, reason: 'not_running', message: 'Thread "t-alice" has no active run.' };
      await expect(service.stop(ctxOf(ALICE), { threadId: 't-alice' })).resolves.toEqual({
        stopped: false,
        threadId: 't-alice',
        runId: null,
        message: 'Thread "t-alice" has no active run.',
      });
    });

    it('passes a run id and thread together to the runner, and reports a run the runner does not know as RUN_NOT_FOUND', async () => {
      runner.stopOutcome = { stopped: false, reason: 'not_found', message: 'Run "r-other" was not found.' };
      const code = await codeOf(service.stop(ctxOf(ALICE), { threadId: 't-alice', runId: 'r-other' }));
      expect(code).toBe('RUN_NOT_FOUND: Run "r-other" was not found.');
      expect(runnerCalls()).toEqual(['stop {"threadId":"t-alice","runId":"r-other"}']);
    });

    it('reports a database failure during the ownership check as itself, not as "not found"', async () => {
      world.failWith = new Error('disk on fire');
      expect(await codeOf(service.stop(ctxOf(ALICE), { runId: 'r-live' }))).toBe('other: disk on fire');
      expect(await codeOf(service.stop(ctxOf(ALICE), { threadId: 't-alice' }))).toBe('other: disk on fire');
      expect(runnerCalls()).toEqual([]);
    });
  });

  describe('follow', () => {
    beforeEach(async () => {
      await log.append([logged('t-alice', 'r-done', 1), logged('t-alice', 'r-done', 2), logged('t-alice', 'r-live', 3)]);
    });

    it('follows the caller\'s thread from the start when no sequence is given', async () => {
      runner.liveEvents.push(logged('t-alice', 'r-live', 4));
      const events = await service.follow(ctxOf(ALICE), 't-alice', null);
      const received: number[] = [];
      for await (const event of events) received.push(event.sequence);
      expect(received).toEqual([4]);
      expect(runnerCalls()).toEqual(['connect t-alice after 0 open']);
    });

    it('resumes after the given sequence, up to the last event', async () => {
      await service.follow(ctxOf(ALICE), 't-alice', 3);
      expect(runnerCalls()).toEqual(['connect t-alice after 3 open']);
    });

    it('refuses sequences that are not whole numbers >= 0, or beyond the last event', async () => {
      expect(await codeOf(service.follow(ctxOf(ALICE), 't-alice', -1))).toBe(
        'BAD_USER_INPUT: afterSequence must be a whole number >= 0; got -1.',
      );
      expect(await codeOf(service.follow(ctxOf(ALICE), 't-alice', 1.5))).toBe(
        'BAD_USER_INPUT: afterSequence must be a whole number >= 0; got 1.5.',
      );
      expect(await codeOf(service.follow(ctxOf(ALICE), 't-alice', 4))).toBe(
        'BAD_USER_INPUT: afterSequence 4 is beyond the last event of thread "t-alice" (3).',
      );
      expect(runnerCalls()).toEqual([]);
    });

    it('reports another identity\'s thread as not found before looking at the sequence', async () => {
      expect(await codeOf(service.follow(ctxOf(BOB), 't-alice', -1))).toBe(
        'THREAD_NOT_FOUND: Thread "t-alice" was not found.',
      );
      expect(await codeOf(service.follow(ctxOf(ALICE), 't-nope', 0))).toBe(
        'THREAD_NOT_FOUND: Thread "t-nope" was not found.',
      );
      expect(runnerCalls()).toEqual([]);
    });
  });

  describe('history', () => {
    it('gives the stored messages (read before the runs), the ended runs and the thread\'s events from the start', async () => {
      runner.liveEvents.push(logged('t-alice', 'r-done', 1));
      const history = await service.history(ctxOf(ALICE), 't-alice');
      expect(history).not.toBeNull();
      expect(history!.threadId).toBe('t-alice');
      expect(history!.storedMessages).toEqual([{ id: 'u1', role: 'user', content: 'hi' }]);
      expect([...history!.endedRuns]).toEqual(['r-done']);
      const received: LoggedEvent[] = [];
      for await (const event of history!.events) received.push(event);
      expect(received.map((event) => event.sequence)).toEqual([1]);
      expect(world.calls).toEqual(['messages t-alice', 'runs t-alice', 'connect t-alice after 0 open']);
    });

    it('is null for another identity\'s thread exactly as for an unknown one, reading nothing of it', async () => {
      await expect(service.history(ctxOf(BOB), 't-alice')).resolves.toBeNull();
      await expect(service.history(ctxOf(BOB), 't-nope')).resolves.toBeNull();
      expect(world.calls).toEqual([]);
    });

    it('reports a database failure as itself', async () => {
      world.failWith = new Error('disk on fire');
      expect(await codeOf(service.history(ctxOf(ALICE), 't-alice'))).toBe('other: disk on fire');
    });
  });
});
