import { EventType, type BaseEvent } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { HttpAgent } from '@ag-ui/client';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { AgentRegistry } from '../../src/agents/agent-registry.js';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { ANONYMOUS_IDENTITY } from '../../src/common/request-context.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { AgentStateStore } from '../../src/ports/run-stores.js';
import { AgentStateRecorder } from '../../src/runtime/agent-state-recorder.js';
import { ThreadStateService } from '../../src/runtime/thread-state.service.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import { bootPersistence, seedThread, uniqueId, userMessage, type BootedPersistence } from '../persistence/persistence-fixtures.js';

jest.setTimeout(60_000);

async function* from(events: BaseEvent[]): AsyncGenerator<BaseEvent> {
  for (const event of events) yield event;
}

const ctx = (identityId = 'anonymous') => ({
  requestId: 'req-1',
  identity: { ...ANONYMOUS_IDENTITY, id: identityId },
  headers: {},
  signal: new AbortController().signal,
  log: { requestId: 'req-1' },
});

describe('agent state per thread and agent', () => {
  let database: TestDatabase;
  let booted: BootedPersistence;
  let recorder: AgentStateRecorder;
  let states: AgentStateStore;
  let threadState: ThreadStateService;

  beforeAll(async () => {
    database = await testDatabaseOptions();
    booted = await bootPersistence(database.options);
    states = booted.moduleRef.get(AgentStateStore);
    recorder = new AgentStateRecorder(states);
    // A real registry with one agent from options (no providers to discover outside Nest).
    const registry = new AgentRegistry(
      { agents: [{ id: 'planner', agent: new HttpAgent({ url: 'http://127.0.0.1:9/planner' }) }] },
      { getProviders: () => [] } as unknown as DiscoveryService,
      new Reflector(),
    );
    threadState = new ThreadStateService(booted.moduleRef.get(ConversationStore), states, registry);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
  });

  it('stores a version per snapshot and applied delta, passes events through untouched, and loadAgentState returns the latest', async () => {
    const threadId = uniqueId('thread');
    await seedThread(booted.store, { threadId, ownerId: 'anonymous', messages: [userMessage('m1', 'hi')] });
    const events: BaseEvent[] = [
      { type: EventType.RUN_STARTED, threadId, runId: 'r1' } as BaseEvent,
      { type: EventType.STATE_SNAPSHOT, snapshot: { counter: 1, items: [] } } as BaseEvent,
      { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/counter', value: 2 }] } as BaseEvent,
      { type: EventType.STATE_DELTA, delta: [{ op: 'add', path: '/items/-', value: 'a' }] } as BaseEvent,
      // Does not apply (no such path): logged and skipped, the stream goes on.
      { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/missing/deep', value: 1 }] } as BaseEvent,
      { type: EventType.RUN_FINISHED, threadId, runId: 'r1' } as BaseEvent,
    ];

    const seen: BaseEvent[] = [];
    for await (const event of recorder.track(from(events), { threadId, agentName: 'planner', runId: 'r1' })) {
      seen.push(event);
    }
    await recorder.whenIdle();

    expect(seen).toEqual(events);
    const latest = await states.latest(threadId, 'planner');
    expect(latest?.version).toBe(3);
    expect(latest?.state).toEqual({ counter: 2, items: ['a'] });
    expect(await states.latest(threadId, 'other-agent')).toBeNull();

    const loaded = await threadState.loadAgentState(ctx(), threadId, 'planner');
    expect(loaded.threadExists).toBe(true);
    expect(JSON.parse(loaded.state)).toEqual({ counter: 2, items: ['a'] });
    expect(JSON.parse(loaded.messages)).toEqual([{ id: 'm1', role: 'user', content: 'hi' }]);
  });

  it("reports another identity's thread as missing", async () => {
    const threadId = uniqueId('thread');
    await seedThread(booted.store, { threadId, ownerId: 'user:alice' });
    const loaded = await threadState.loadAgentState(ctx('user:bob'), threadId, 'planner');
    expect(loaded).toEqual({ threadId, threadExists: false, state: '{}', messages: '[]' });
  });

  it('loadAgentState of an agent that is not registered is AGENT_NOT_FOUND, as upstream answers', async () => {
    const refused = threadState.loadAgentState(ctx(), 'any-thread', 'nope');
    await expect(refused).rejects.toThrow(CopilotRuntimeError);
    await expect(refused).rejects.toMatchObject({ code: 'AGENT_NOT_FOUND' });
  });
});
