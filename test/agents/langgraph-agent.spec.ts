import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { BaseEvent, Message } from '@ag-ui/core';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import { Annotation, END, MemorySaver, MessagesAnnotation, START, StateGraph, interrupt } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { ChatOpenAI } from '@langchain/openai';
import { isRuntimeAware } from '../../src/agents/agent-definition.js';
import { copilotkitTools } from '../../src/agents/langgraph/copilotkit-configurable.js';
import { LangGraphAgent } from '../../src/agents/langgraph/langgraph-agent.js';
import type { LangGraphSource } from '../../src/agents/langgraph/graph-source.js';
import { LANGGRAPH_CHECKPOINT_SCHEMA } from '../../src/persistence/postgres-langgraph-checkpointer.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import {
  bootCheckpointer,
  collectRun,
  deferred,
  ofType,
  runInput,
  shape,
  showAlertTool,
  uniqueId,
  userMessage,
  type BootedCheckpointer,
} from './langgraph-support.js';

// PGlite's first boot runs initdb, and the restart test boots twice.
jest.setTimeout(60_000);

const STORY = 'Once upon a time, a graph streamed its tokens.';

const ChatState = Annotation.Root({ ...MessagesAnnotation.spec, turns: Annotation<number>() });

/** One node that answers with the real ChatOpenAI, binding the request's frontend tools. */
function chatGraph(model: ChatOpenAI) {
  return new StateGraph(ChatState)
    .addNode('chat', async (state, config) => {
      const tools = copilotkitTools(config);
      const runnable = tools.length > 0 ? model.bindTools(tools) : model;
      const reply = await runnable.invoke(state.messages, config);
      return { messages: [reply], turns: (state.turns ?? 0) + 1 };
    })
    .addEdge(START, 'chat')
    .addEdge('chat', END)
    .compile();
}

const ApprovalState = Annotation.Root({ ...MessagesAnnotation.spec, approved: Annotation<string>() });

/** A model-written draft, then a human approval through interrupt(). */
function approvalGraph(model: ChatOpenAI) {
  return new StateGraph(ApprovalState)
    .addNode('draft', async (state, config) => ({ messages: [await model.invoke(state.messages, config)] }))
    .addNode('approve', async () => {
      const answer = interrupt<{ question: string }, string>({ question: 'Publish the draft?' });
      return { approved: answer, messages: [new AIMessage(`Approved: ${answer}`)] };
    })
    .addEdge(START, 'draft')
    .addEdge('draft', 'approve')
    .addEdge('approve', END)
    .compile();
}

const PreferencesState = Annotation.Root({
  ...MessagesAnnotation.spec,
  mode: Annotation<string>(),
  // An appending reducer: re-sending an unchanged value would duplicate it.
  tags: Annotation<string[]>({ reducer: (current, update) => current.concat(update), default: () => [] }),
});

/** No model: the node returns a whole AIMessage describing the state it saw. */
function preferencesGraph() {
  return new StateGraph(PreferencesState)
    .addNode('echo', async (state) => ({
      messages: [new AIMessage(`mode=${state.mode} tags=${state.tags.join(',')}`)],
    }))
    .addEdge(START, 'echo')
    .addEdge('echo', END)
    .compile();
}

function textOf(events: BaseEvent[]): string {
  return ofType<{ delta: string }>(events, 'TEXT_MESSAGE_CONTENT')
    .map((event) => event.delta)
    .join('');
}

function lastSnapshot(events: BaseEvent[]): Record<string, unknown> {
  return ofType<{ snapshot: Record<string, unknown> }>(events, 'STATE_SNAPSHOT').at(-1)!.snapshot;
}

describe('LangGraphAgent (a LangGraph JS graph in-process, real ChatOpenAI on aimock, PostgresSaver)', () => {
  let llm: AimockServer;
  let database: TestDatabase;
  let booted: BootedCheckpointer;
  let model: ChatOpenAI;

  /** A fresh agent on the runtime's checkpointer, as the registry hands it out per run. */
  function agentFor(graph: LangGraphSource) {
    const agent = new LangGraphAgent({ graph, description: 'test graph' }).clone();
    agent.attachRuntime(booted.services);
    return agent;
  }

  /** The thread as the runtime's checkpointer holds it. */
  async function threadMessages(threadId: string): Promise<BaseMessage[]> {
    const tuple = await booted.services.checkpointer!.getTuple({ configurable: { thread_id: threadId } });
    return (tuple?.checkpoint.channel_values.messages ?? []) as BaseMessage[];
  }

  beforeAll(async () => {
    llm = await startAimock();
    const { mock } = llm;
    mock.onToolResult('call_alert_1', { content: 'The alert is showing.' }, { chunkSize: 7 });
    mock.onMessage(
      'show an alert',
      { toolCalls: [{ id: 'call_alert_1', name: 'showAlert', arguments: { message: 'Hello from the graph' } }] },
      { chunkSize: 5 },
    );
    mock.onMessage('tell me a story', { content: STORY }, { chunkSize: 6 });
    mock.onMessage('and then?', { content: 'They lived happily ever after.' }, { chunkSize: 6 });
    mock.onMessage('my name is Ada', { content: 'Nice to meet you, Ada.' });
    mock.onMessage('what is my name?', { content: 'Your name is Ada.' });
    mock.onMessage('write a draft', { content: 'Draft: graphs are great.' }, { chunkSize: 8 });
    mock.onMessage('explode', { error: { message: 'model exploded', type: 'server_error', code: 'boom' }, status: 400 });
    // aimock keeps writing to a client that left: disconnectAfterMs ends its loop.
    mock.onMessage('slow story', { content: 'word '.repeat(400) }, { chunkSize: 5, latency: 30, disconnectAfterMs: 1_000 });
    model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'test-key', configuration: { baseURL: llm.baseURL }, maxRetries: 0 });

    database = await testDatabaseOptions();
    booted = await bootCheckpointer(database.options);
  });

  afterAll(async () => {
    await booted?.close();
    await database?.cleanup();
    await llm?.stop();
  });

  describe('the checkpointer provider', () => {
    it('is a PostgresSaver on the runtime pool itself (PGlite: its single connection), with its tables in their own schema', async () => {
      const saver = booted.services.checkpointer;
      expect(saver).toBeInstanceOf(PostgresSaver);
      const pool = (booted.dataSource.driver as unknown as { master: { options: { max: number } } }).master;
      expect((saver as unknown as { pool: unknown }).pool).toBe(pool);
      if (database.kind === 'pglite') expect(pool.options.max).toBe(1);

      const tables = await booted.dataSource.query<Array<{ table_name: string }>>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [LANGGRAPH_CHECKPOINT_SCHEMA],
      );
      expect(tables.map((row) => row.table_name)).toEqual([
        'checkpoint_blobs',
        'checkpoint_migrations',
        'checkpoint_writes',
        'checkpoints',
      ]);
      const inPublic = await booted.dataSource.query<unknown[]>(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'checkpoint%'`,
      );
      expect(inPublic).toEqual([]);
    });
  });

  it('streams the model tokens as text inside the node step, then the state, on the runtime checkpointer', async () => {
    const agent = agentFor(chatGraph(model));
    expect(isRuntimeAware(agent)).toBe(true);
    const threadId = uniqueId('thread');
    const events = await collectRun(agent, runInput({ threadId, messages: [userMessage('tell me a story')] }));

    expect(shape(events)).toEqual([
      'RUN_STARTED',
      'STATE_SNAPSHOT',
      'STEP_STARTED:chat',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'STEP_FINISHED:chat',
      'STATE_SNAPSHOT',
      'RUN_FINISHED',
    ]);
    expect(ofType(events, 'TEXT_MESSAGE_CONTENT').length).toBeGreaterThan(1);
    expect(textOf(events)).toBe(STORY);
    const [start] = ofType<{ messageId: string; role: string }>(events, 'TEXT_MESSAGE_START');
    expect(start!.role).toBe('assistant');
    expect(start!.messageId).toMatch(/^chatcmpl-/);
    expect(events[0]).toMatchObject({ threadId, runId: expect.any(String) });
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', threadId });
    // The state without `messages`.
    expect(lastSnapshot(events)).toEqual({ turns: 1 });

    // The thread is in Postgres, and the streamed id is the checkpointed message's id.
    const stored = await threadMessages(threadId);
    expect(stored.map((message) => [message.getType(), message.id])).toEqual([
      ['human', expect.any(String)],
      ['ai', start!.messageId],
    ]);
  });

  it('sends the graph only the messages its checkpoint lacks: the history is not appended twice', async () => {
    const agent = agentFor(chatGraph(model));
    const threadId = uniqueId('thread');
    const first = userMessage('tell me a story');
    const firstRun = await collectRun(agent, runInput({ threadId, messages: [first] }));
    const answerId = ofType<{ messageId: string }>(firstRun, 'TEXT_MESSAGE_START')[0]!.messageId;

    // What a client sends next: its whole history (our ids), plus the new question.
    const history: Message[] = [first, { id: answerId, role: 'assistant', content: STORY }, userMessage('and then?')];
    const secondRun = await collectRun(agent.clone(), runInput({ threadId, messages: history }));

    expect(textOf(secondRun)).toBe('They lived happily ever after.');
    expect(lastSnapshot(secondRun)).toEqual({ turns: 2 });
    expect(llm.chatRequests().at(-1)!.messages).toEqual([
      { role: 'user', content: 'tell me a story' },
      { role: 'assistant', content: STORY },
      { role: 'user', content: 'and then?' },
    ]);
    const stored = await threadMessages(threadId);
    expect(stored.map((message) => message.id)).toEqual([first.id, answerId, history[2]!.id, expect.any(String)]);
  });

  it('lets the graph bind the frontend tools of input.tools, streams its call as TOOL_CALL_*, and takes the result back', async () => {
    const agent = agentFor(chatGraph(model));
    const threadId = uniqueId('thread');
    const question = userMessage('show an alert please');
    const events = await collectRun(agent, runInput({ threadId, messages: [question], tools: [showAlertTool] }));

    expect(llm.chatRequests().at(-1)!.tools).toEqual([
      {
        type: 'function',
        function: { name: 'showAlert', description: showAlertTool.description, parameters: showAlertTool.parameters },
      },
    ]);
    expect(shape(events)).toEqual([
      'RUN_STARTED',
      'STATE_SNAPSHOT',
      'STEP_STARTED:chat',
      'TOOL_CALL_START',
      'TOOL_CALL_ARGS',
      'TOOL_CALL_END',
      'STEP_FINISHED:chat',
      'STATE_SNAPSHOT',
      'RUN_FINISHED',
    ]);
    const [start] = ofType<{ toolCallId: string; toolCallName: string; parentMessageId: string }>(events, 'TOOL_CALL_START');
    expect(start).toMatchObject({ toolCallId: 'call_alert_1', toolCallName: 'showAlert' });
    expect(start!.parentMessageId).toMatch(/^chatcmpl-/);
    const args = ofType<{ delta: string }>(events, 'TOOL_CALL_ARGS');
    expect(args.length).toBeGreaterThan(1);
    expect(JSON.parse(args.map((event) => event.delta).join(''))).toEqual({ message: 'Hello from the graph' });

    // The frontend ran the action: the next request carries its result.
    const followUp = await collectRun(
      agent.clone(),
      runInput({
        threadId,
        tools: [showAlertTool],
        messages: [
          question,
          {
            id: start!.parentMessageId,
            role: 'assistant',
            toolCalls: [
              { id: 'call_alert_1', type: 'function', function: { name: 'showAlert', arguments: '{"message":"Hello from the graph"}' } },
            ],
          },
          { id: 'result-1', role: 'tool', toolCallId: 'call_alert_1', content: 'alert shown' },
        ],
      }),
    );
    expect(textOf(followUp)).toBe('The alert is showing.');
    const sent = llm.chatRequests().at(-1)!.messages;
    expect(sent.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent[2]).toEqual({ role: 'tool', content: 'alert shown', tool_call_id: 'call_alert_1' });
  });

  it('stops on interrupt() with an on_interrupt event and RUN_FINISHED, and continues where it stopped on resume', async () => {
    const agent = agentFor(approvalGraph(model));
    const threadId = uniqueId('thread');
    const messages = [userMessage('write a draft')];
    const requestsBefore = llm.chatRequests().length;

    const first = await collectRun(agent, runInput({ threadId, messages }));
    expect(shape(first)).toEqual([
      'RUN_STARTED',
      'STATE_SNAPSHOT',
      'STEP_STARTED:draft',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'STEP_FINISHED:draft',
      'STATE_SNAPSHOT',
      'STEP_STARTED:approve',
      'STEP_FINISHED:approve',
      'CUSTOM',
      'RUN_FINISHED',
    ]);
    expect(textOf(first)).toBe('Draft: graphs are great.');
    const [interruptEvent] = ofType<{ name: string; value: string }>(first, 'CUSTOM');
    expect(interruptEvent).toMatchObject({ name: 'on_interrupt' });
    expect(JSON.parse(interruptEvent!.value)).toEqual({ question: 'Publish the draft?' });

    // A request that does not answer shows the question again, without running anything.
    const again = await collectRun(agent.clone(), runInput({ threadId, messages }));
    expect(shape(again)).toEqual(['RUN_STARTED', 'CUSTOM', 'RUN_FINISHED']);
    expect(JSON.parse(ofType<{ value: string }>(again, 'CUSTOM')[0]!.value)).toEqual({ question: 'Publish the draft?' });

    const resumed = await collectRun(
      agent.clone(),
      runInput({ threadId, messages, forwardedProps: { command: { resume: 'yes, ship it' } } }),
    );
    expect(shape(resumed)).toEqual([
      'RUN_STARTED',
      'STATE_SNAPSHOT',
      'STEP_STARTED:approve',
      'TEXT_MESSAGE_START',
      'TEXT_MESSAGE_CONTENT',
      'TEXT_MESSAGE_END',
      'STEP_FINISHED:approve',
      'STATE_SNAPSHOT',
      'RUN_FINISHED',
    ]);
    expect(textOf(resumed)).toBe('Approved: yes, ship it');
    expect(lastSnapshot(resumed)).toEqual({ approved: 'yes, ship it' });
    // The draft node did not run again: one model call for the whole conversation.
    expect(llm.chatRequests().length).toBe(requestsBefore + 1);
    expect((await threadMessages(threadId)).map((message) => message.content)).toEqual([
      'write a draft',
      'Draft: graphs are great.',
      'Approved: yes, ship it',
    ]);
  });

  it('merges input.state into the graph input, sending only the keys that changed', async () => {
    const agent = agentFor(preferencesGraph());
    const threadId = uniqueId('thread');
    const first = await collectRun(
      agent,
      runInput({ threadId, messages: [userMessage('one')], state: { mode: 'fast', tags: ['a'], messages: ['ignored'] } }),
    );
    expect(textOf(first)).toBe('mode=fast tags=a');
    expect(lastSnapshot(first)).toEqual({ mode: 'fast', tags: ['a'] });

    // The client echoes the snapshot back: the appending reducer must not see `tags` again.
    const echoed = await collectRun(
      agent.clone(),
      runInput({ threadId, messages: [userMessage('two')], state: lastSnapshot(first) }),
    );
    expect(textOf(echoed)).toBe('mode=fast tags=a');

    const changed = await collectRun(
      agent.clone(),
      runInput({ threadId, messages: [userMessage('three')], state: { mode: 'slow', tags: ['a'] } }),
    );
    expect(textOf(changed)).toBe('mode=slow tags=a');
    expect(lastSnapshot(changed)).toEqual({ mode: 'slow', tags: ['a'] });
  });

  it('keeps thread memory across a restart: a new PostgresSaver on the same database', async () => {
    const threadId = uniqueId('thread');
    await collectRun(agentFor(chatGraph(model)), runInput({ threadId, messages: [userMessage('my name is Ada')] }));
    const before = booted.services.checkpointer;

    await booted.close();
    booted = await bootCheckpointer(database.options);
    expect(booted.services.checkpointer).not.toBe(before);

    // A new graph and agent, and a client that sends only its new message.
    const events = await collectRun(
      agentFor(chatGraph(model)),
      runInput({ threadId, messages: [userMessage('what is my name?')] }),
    );
    expect(textOf(events)).toBe('Your name is Ada.');
    expect(lastSnapshot(events)).toEqual({ turns: 2 });
    expect(llm.chatRequests().at(-1)!.messages).toEqual([
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'Nice to meet you, Ada.' },
      { role: 'user', content: 'what is my name?' },
    ]);
  });

  describe('abort', () => {
    const SlowState = Annotation.Root({ ...MessagesAnnotation.spec, finished: Annotation<boolean>() });

    /** `slow` streams a long answer; `after` must never run once the run is aborted. */
    function slowGraph(observed: { modelOutcome: ReturnType<typeof deferred<string>>; afterRuns: number }) {
      return new StateGraph(SlowState)
        .addNode('slow', async (state, config) => {
          try {
            const reply = await model.invoke(state.messages, config);
            observed.modelOutcome.resolve('completed');
            return { messages: [reply] };
          } catch (error) {
            // LangChain rejects a cancelled call with its own error: the run's signal tells why.
            observed.modelOutcome.resolve(config.signal?.aborted ? 'cancelled by the run abort' : (error as Error).message);
            throw error;
          }
        })
        .addNode('after', async () => {
          observed.afterRuns += 1;
          return { finished: true };
        })
        .addEdge(START, 'slow')
        .addEdge('slow', 'after')
        .addEdge('after', END)
        .compile();
    }

    it('unsubscribing aborts the graph: the model call is cancelled and the next node never runs', async () => {
      const observed = { modelOutcome: deferred<string>(), afterRuns: 0 };
      const agent = agentFor(slowGraph(observed));
      const threadId = uniqueId('thread');
      const firstContent = deferred<void>();
      const subscription = agent.run(runInput({ threadId, messages: [userMessage('slow story')] })).subscribe({
        next: (event) => {
          if (event.type === 'TEXT_MESSAGE_CONTENT') firstContent.resolve();
        },
      });
      await firstContent.promise;
      subscription.unsubscribe();

      expect(await observed.modelOutcome.promise).toBe('cancelled by the run abort');
      expect(observed.afterRuns).toBe(0);
      const tuple = await booted.services.checkpointer!.getTuple({ configurable: { thread_id: threadId } });
      expect(tuple?.checkpoint.channel_values.finished).toBeUndefined();
    });

    it('abortRun() stops the instance runs: the observable errors with an AbortError once the graph has stopped', async () => {
      const observed = { modelOutcome: deferred<string>(), afterRuns: 0 };
      const agent = agentFor(slowGraph(observed));
      const events: BaseEvent[] = [];
      const failure = await new Promise<unknown>((resolve, reject) => {
        agent.run(runInput({ threadId: uniqueId('thread'), messages: [userMessage('slow story')] })).subscribe({
          next: (event) => {
            events.push(event);
            if (event.type === 'TEXT_MESSAGE_CONTENT') agent.abortRun();
          },
          error: resolve,
          complete: () => reject(new Error('completed instead of aborting')),
        });
      });
      expect((failure as Error).name).toBe('AbortError');
      expect(await observed.modelOutcome.promise).toBe('cancelled by the run abort');
      expect(observed.afterRuns).toBe(0);
      expect(events.some((event) => event.type === 'RUN_FINISHED' || event.type === 'RUN_ERROR')).toBe(false);
    });
  });

  it('reports a failing graph as RUN_ERROR with code AGENT_FAILED', async () => {
    const events = await collectRun(
      agentFor(chatGraph(model)),
      runInput({ threadId: uniqueId('thread'), messages: [userMessage('explode')] }),
    );
    const [error] = ofType<{ message: string; code: string }>(events, 'RUN_ERROR');
    expect(error).toMatchObject({ code: 'AGENT_FAILED', message: expect.stringContaining('model exploded') });
    expect(events.at(-1)!.type).toBe('RUN_ERROR');
  });

  describe('clone() and attachRuntime()', () => {
    it('a clone shares the graph and the attached checkpointer', async () => {
      const prototype = new LangGraphAgent({ graph: chatGraph(model), description: 'chat' });
      prototype.attachRuntime(booted.services);
      const clone = prototype.clone();
      expect(clone).toBeInstanceOf(LangGraphAgent);
      expect(clone).not.toBe(prototype);
      expect(clone.description).toBe('chat');

      const threadId = uniqueId('thread');
      await collectRun(clone, runInput({ threadId, messages: [userMessage('tell me a story')] }));
      expect((await threadMessages(threadId)).map((message) => message.content)).toEqual(['tell me a story', STORY]);
    });

    it('keeps the checkpointer a graph was compiled with, and compiles a StateGraph builder it is given', async () => {
      const own = new MemorySaver();
      const builder = new StateGraph(ChatState)
        .addNode('chat', async (state, config) => ({ messages: [await model.invoke(state.messages, config)], turns: 1 }))
        .addEdge(START, 'chat')
        .addEdge('chat', END);

      const withOwn = agentFor(builder.compile({ checkpointer: own }));
      const ownThread = uniqueId('thread');
      await collectRun(withOwn, runInput({ threadId: ownThread, messages: [userMessage('tell me a story')] }));
      expect(await own.getTuple({ configurable: { thread_id: ownThread } })).toBeDefined();
      expect(await threadMessages(ownThread)).toEqual([]);

      const fromBuilder = new LangGraphAgent({ graph: builder });
      fromBuilder.attachRuntime(booted.services);
      const builderThread = uniqueId('thread');
      const events = await collectRun(fromBuilder, runInput({ threadId: builderThread, messages: [userMessage('tell me a story')] }));
      expect(textOf(events)).toBe(STORY);
      expect(await threadMessages(builderThread)).toHaveLength(2);
    });
  });
});
