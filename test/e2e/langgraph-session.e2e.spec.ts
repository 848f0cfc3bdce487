import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { HttpAgent } from '@ag-ui/client';
import { AIMessage } from '@langchain/core/messages';
import { Annotation, END, interrupt, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ChatOpenAI } from '@langchain/openai';
import { DataSource } from 'typeorm';
import type { CopilotRuntimeOptions } from '../../src/index.js';
import { LangGraphAgent } from '../../src/agents/langgraph/index.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, messagesOf, streamResponse, textOf } from '../support/copilot-client.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { ScriptedAgent, capturedAgentScript } from '../support/scripted-agent.js';

const ReviewState = Annotation.Root({
  ...MessagesAnnotation.spec,
  drafts: Annotation<number>(),
  approved: Annotation<string>(),
});

/** A model-written draft (state: drafts), then a human approval through interrupt(). */
function reviewGraph(model: ChatOpenAI) {
  return new StateGraph(ReviewState)
    .addNode('draft', async (state, config) => ({
      messages: [await model.invoke(state.messages, config)],
      drafts: (state.drafts ?? 0) + 1,
    }))
    .addNode('approve', async () => {
      const answer = interrupt<{ question: string }, string>({ question: 'Publish the draft?' });
      return { approved: answer, messages: [new AIMessage(`Published after "${answer}".`)] };
    })
    .addEdge(START, 'draft')
    .addEdge('draft', 'approve')
    .addEdge('approve', END)
    .compile();
}

/**
 * Agents behind the v1 contract, end to end with the real `CopilotRuntimeClient`: a LangGraph JS
 * graph in-process (state, interrupt, resume, memory across a restart on the Postgres
 * checkpointer), an agent the model calls as a tool, and an unknown agent.
 */
describe('v1 agents: LangGraph JS session, interrupt and resume, agent as tool, restart', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const toolAgent = new ScriptedAgent(capturedAgentScript);

  const options = (): Partial<CopilotRuntimeOptions> => {
    const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'k', configuration: { baseURL: llm.baseURL }, maxRetries: 0 });
    return {
      agents: [
        { id: 'reviewer', description: 'Drafts and asks before publishing', agent: new LangGraphAgent({ graph: reviewGraph(model) }) },
        { id: 'agui_agent', description: 'Plans things', agent: toolAgent },
      ],
    };
  };
  const user = (id: string, content: string) => new TextMessage({ id, role: Role.User, content });

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage('draft a post', { content: 'Draft: graphs are great.' }, { chunkSize: 6 });
    llm.mock.onMessage('delegate to the planner', { toolCalls: [{ id: 'call_agui_agent_1', name: 'agui_agent', arguments: {} }] });
    db = await testDatabaseOptions();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, db, options: options() });
    client = new CopilotRuntimeClient({ url: rt.url });
  });
  afterAll(async () => {
    await rt?.close();
    await db?.cleanup();
    await llm?.stop();
  });

  it('lists both agents with stable ids', async () => {
    const agents = await client.availableAgents().toPromise();
    expect(agents.data?.availableAgents.agents.map((a) => a.id)).toEqual(['reviewer', 'agui_agent']);
  });

  it('a LangGraph session streams the draft with state updates and stops at the interrupt; the answer resumes it', async () => {
    const threadId = 'lg-review-1';
    const first = await streamResponse(client, {
      data: { ...chatInput({ threadId, messages: [user('u1', 'draft a post')] }), agentSession: { agentName: 'reviewer' } },
    });
    expect(first.error).toBeUndefined();
    expect(first.final.status).toMatchObject({ code: 'Success' });
    const firstMessages = messagesOf(first.final);
    expect(textOf(firstMessages.find((m) => m.__typename === 'TextMessageOutput'))).toBe('Draft: graphs are great.');
    const states = firstMessages.filter((m) => m.__typename === 'AgentStateMessageOutput');
    expect(states.some((m) => m.nodeName === 'draft' && JSON.parse(m.state).drafts === 1)).toBe(true);
    expect(states.every((m) => m.agentName === 'reviewer' && m.threadId === threadId)).toBe(true);
    expect(states.at(-1)).toMatchObject({ running: false, active: false });
    expect(first.final.metaEvents).toHaveLength(1);
    const [interruptEvent] = first.final.metaEvents as Array<{ name: string; value: string }>;
    expect(interruptEvent.name).toBe('LangGraphInterruptEvent');
    expect(JSON.parse(interruptEvent.value)).toEqual({ question: 'Publish the draft?' });

    const calls = llm.chatRequests().length;
    const second = await streamResponse(client, {
      data: {
        ...chatInput({ threadId, messages: [user('u1', 'draft a post')] }),
        agentSession: { agentName: 'reviewer' },
        metaEvents: [{ name: 'LangGraphInterruptEvent', value: interruptEvent.value, response: 'yes' }],
      } as never,
    });
    expect(second.final.status).toMatchObject({ code: 'Success' });
    const resumed = messagesOf(second.final);
    expect(resumed.filter((m) => m.__typename === 'TextMessageOutput').map(textOf)).toEqual(['Published after "yes".']);
    const lastState = resumed.filter((m) => m.__typename === 'AgentStateMessageOutput').at(-1)!;
    expect(JSON.parse(lastState.state)).toMatchObject({ drafts: 1, approved: 'yes' });
    expect(lastState.running).toBe(false);
    expect(second.final.metaEvents).toEqual([]);
    // Resumed where it stopped: the draft node (the model) did not run again.
    expect(llm.chatRequests()).toHaveLength(calls);
  });

  it('offers agents to the model as tools; the called agent streams in the same response', async () => {
    const { final, error } = await streamResponse(client, {
      data: chatInput({ threadId: 'agent-as-tool-1', messages: [user('u2', 'delegate to the planner')] }),
    });
    expect(error).toBeUndefined();
    expect(final.status).toMatchObject({ code: 'Success' });
    const offered = llm.chatRequests().at(-1)!.tools!.map((tool) => tool.function.name);
    expect(offered).toEqual(['reviewer', 'agui_agent']);
    const messages = messagesOf(final);
    expect(messages.slice(0, 2)).toMatchObject([
      { __typename: 'ActionExecutionMessageOutput', id: 'call_agui_agent_1', name: 'agui_agent' },
      { __typename: 'ResultMessageOutput', actionExecutionId: 'call_agui_agent_1', result: 'agui_agent agent started' },
    ]);
    const text = messages.find((m) => m.__typename === 'TextMessageOutput');
    expect(textOf(text)).toBe('AG-UI says hi');
    const states = messages.filter((m) => m.__typename === 'AgentStateMessageOutput');
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states.every((m) => m.agentName === 'agui_agent')).toBe(true);
    expect(JSON.parse(states.at(-1)!.state)).toEqual({ plan: ['a', 'b'], counter: 2 });
    expect(states.at(-1)!.running).toBe(false);
    expect(final.metaEvents).toHaveLength(1);
    // The agent got the conversation so far.
    expect(toolAgent.inputs.at(-1)!.messages.map((m) => m.content)).toContain('delegate to the planner');
  });

  it('the same LangGraph agent runs over v2 (AG-UI over SSE) with the real HttpAgent, interrupt included', async () => {
    const info = await (await fetch(`${rt.url}/info`)).json();
    expect(Object.keys(info.agents)).toEqual(expect.arrayContaining(['reviewer', 'agui_agent', 'default']));
    const agent = new HttpAgent({ url: `${rt.url}/agent/reviewer/run`, threadId: 'lg-v2-1' });
    agent.messages = [{ id: 'v2-u1', role: 'user', content: 'draft a post' }];
    const custom: Array<{ name: string; value: unknown }> = [];
    await agent.runAgent({}, { onCustomEvent: ({ event }) => void custom.push({ name: event.name, value: event.value }) });
    const texts = agent.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
    expect(texts).toEqual(['Draft: graphs are great.']);
    expect(agent.state).toMatchObject({ drafts: 1 });
    expect(custom.filter((c) => c.name === 'on_interrupt').map((c) => JSON.parse(String(c.value)))).toEqual([
      { question: 'Publish the draft?' },
    ]);
  });

  it('an unknown agent: AGENT_NOT_FOUND naming the agents there are', async () => {
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($data: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $data) { threadId } }',
        variables: { data: { ...chatInput({ threadId: 'x', messages: [user('u3', 'hi')] }), agentSession: { agentName: 'nope' } } },
      }),
    });
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.errors[0].extensions.code).toBe('AGENT_NOT_FOUND');
    expect(body.errors[0].message).toBe("Agent 'nope' was not found. Available agents: default, reviewer, agui_agent.");
  });

  it('after a restart, loadAgentState returns the last state and the messages, and the graph remembers the thread', async () => {
    await rt.persisted();
    await rt.close();
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, db, options: options() });
    client = new CopilotRuntimeClient({ url: rt.url });

    const loaded = await client.loadAgentState({ threadId: 'lg-review-1', agentName: 'reviewer' }).toPromise();
    const state = loaded.data!.loadAgentState;
    expect(state.threadExists).toBe(true);
    expect(JSON.parse(state.state)).toMatchObject({ drafts: 1, approved: 'yes' });
    const texts = (JSON.parse(state.messages) as Array<{ content?: unknown }>).map((m) => m.content);
    expect(texts).toEqual(expect.arrayContaining(['draft a post', 'Draft: graphs are great.', 'Published after "yes".']));

    // The checkpointer kept the graph's own memory: a new request on the thread with no pending
    // interrupt runs the graph again from the start with the whole history.
    const calls = llm.chatRequests().length;
    const again = await streamResponse(client, {
      data: {
        ...chatInput({ threadId: 'lg-review-1', messages: [user('u9', 'draft a post')] }),
        agentSession: { agentName: 'reviewer' },
      },
    });
    expect(again.final.status).toMatchObject({ code: 'Success' });
    const sent = llm.chatRequests().slice(calls)[0]!.messages.map((m) => m.content);
    expect(sent).toEqual(['draft a post', 'Draft: graphs are great.', 'Published after "yes".', 'draft a post']);
  });

  it("deleting the thread deletes the graph's checkpoints of it too", async () => {
    const dataSource = rt.app.get(DataSource);
    const count = async () =>
      (await dataSource.query(`SELECT count(*)::int AS n FROM langgraph.checkpoints WHERE thread_id = 'lg-review-1'`))[0].n;
    expect(await count()).toBeGreaterThan(0);
    const reply = await fetch(rt.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { deleteThread(id: "lg-review-1") }' }),
    });
    expect((await reply.json()).data).toEqual({ deleteThread: true });
    expect(await count()).toBe(0);
  });
});
