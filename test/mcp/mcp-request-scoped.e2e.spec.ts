import { HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AIMessage } from '@langchain/core/messages';
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode } from '@langchain/langgraph/prebuilt';
import { ChatOpenAI } from '@langchain/openai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ANONYMOUS_IDENTITY } from '../../src/common/request-context.js';
import { LangGraphAgent, McpToolkit, mcpTools, type McpServerConfig } from '../../src/index.js';
import { startAimock, type AimockServer, type ChatCompletionBody } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { waitFor } from '../support/wait-for.js';
import { startRecordingMcpServer, type RecordingMcpServer } from './support/recording-mcp-server.js';

/** A LangGraph JS graph whose model is offered the run's MCP tools, executed by a ToolNode. */
function mcpGraph(model: ChatOpenAI) {
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state, config) => ({ messages: [await model.bindTools(await mcpTools(config)).invoke(state.messages, config)] }))
    .addNode('tools', async (state, config) => new ToolNode(await mcpTools(config)).invoke(state, config))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (state) => ((state.messages.at(-1) as AIMessage).tool_calls?.length ? 'tools' : END))
    .addEdge('tools', 'agent')
    .compile();
}

/**
 * MCP against the SDK's own server in-process (it records headers and sessions): headers computed
 * per request, the bounded pool closing evicted sessions, the tool list refreshed on
 * `notifications/tools/list_changed`, integer and nested schemas unchanged, and LangGraph graphs
 * getting the same tools through `mcpTools(config)`.
 */
describe('MCP: per-request headers, pooling, list changes, LangGraph', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let mcp: RecordingMcpServer;

  beforeAll(async () => {
    llm = await startAimock();
    mcp = await startRecordingMcpServer();
    const servers: McpServerConfig[] = [
      {
        id: 'mine',
        transport: 'http',
        url: mcp.url,
        tools: { allow: ['whoami'] },
        headers: ({ requestHeaders }) => ({ authorization: `Bearer ${requestHeaders['x-user-token'] ?? 'anonymous'}` }),
      },
      { id: 'fixed', transport: 'http', url: mcp.url, headers: { authorization: 'Bearer fixed' }, tools: { deny: ['whoami'] } },
    ];
    const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'k', configuration: { baseURL: llm.baseURL }, maxRetries: 0 });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: {
        mcp: { servers, maxPooledClients: 1 },
        agents: [{ id: 'graph', agent: new LangGraphAgent({ graph: mcpGraph(model) }) }],
      },
    });
  });

  afterAll(async () => {
    await rt?.close();
    await mcp?.close();
    await llm?.stop();
  });

  async function run(agentId: string, threadId: string, text: string, token?: string) {
    const agent = new HttpAgent({ url: `${rt.url}/agent/${agentId}/run`, threadId, headers: token ? { 'x-user-token': token } : {} });
    agent.messages = [{ id: `${threadId}-u1`, role: 'user', content: text } as Message];
    const events: BaseEvent[] = [];
    const before = llm.chatRequests().length;
    await agent.runAgent({ tools: [] }, { onEvent: ({ event }) => void events.push(event) });
    const results = events.filter((event) => event.type === EventType.TOOL_CALL_RESULT) as Array<BaseEvent & { content: string }>;
    return { events, results, modelCalls: llm.chatRequests().slice(before) };
  }

  const offered = (request: ChatCompletionBody | undefined) => (request?.tools ?? []).map((tool) => tool.function.name);

  it('integer, array and nested-object parameters: the schema reaches the model unchanged, the arguments the server intact', async () => {
    const args = {
      days: 3,
      stops: [{ city: 'Lyon', nights: 2, tags: ['food'] }, { city: 'Nice', nights: 1 }],
      budget: { currency: 'EUR', amount: 1200.5 },
    };
    llm.mock.onToolResult('call-trip', { content: 'Planned.' });
    llm.mock.onMessage('plan my trip', { toolCalls: [{ id: 'call-trip', name: 'fixed__plan_trip', arguments: args }] });
    const { results, modelCalls, events } = await run('default', 'mcp-trip', 'plan my trip');
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
    expect(JSON.parse(results[0]!.content)).toEqual(args);

    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url)));
    const listed = (await client.listTools()).tools.find((tool) => tool.name === 'plan_trip')!;
    await client.close();
    const { $schema: _dropped, ...expected } = listed.inputSchema as Record<string, any>;
    expect(expected.properties.days.type).toBe('integer');
    expect(expected.properties.stops.items.properties.nights.type).toBe('integer');
    const sent = modelCalls[0]!.tools!.find((tool) => tool.function.name === 'fixed__plan_trip')!;
    expect(sent.function.parameters).toEqual(expected);
  });

  it('headers computed per request reach the server; the bounded pool closes the evicted variant', async () => {
    llm.mock.onToolResult('call-who', { content: 'I see.' });
    llm.mock.onMessage('who am i', { toolCalls: [{ id: 'call-who', name: 'mine__whoami', arguments: {} }] });
    const alice = await run('default', 'mcp-alice', 'who am i', 'alice');
    expect(alice.results[0]!.content).toBe('Bearer alice');
    const ended = mcp.sessionsEnded;
    const bob = await run('default', 'mcp-bob', 'who am i', 'bob');
    expect(bob.results[0]!.content).toBe('Bearer bob');
    // maxPooledClients 1: Bob's connection evicted Alice's, whose session is ended on the server.
    await waitFor(() => mcp.sessionsEnded > ended, { what: "Alice's session to end" });
    expect(mcp.authorizations).toContain('Bearer alice');
    expect(mcp.authorizations).toContain('Bearer fixed');
  });

  it('a tool added on the server (notifications/tools/list_changed) is offered without reconnecting', async () => {
    llm.mock.onToolResult('call-unlock', { content: 'Unlocked.' });
    llm.mock.onMessage('unlock it', { toolCalls: [{ id: 'call-unlock', name: 'fixed__unlock', arguments: {} }] });
    const first = await run('default', 'mcp-unlock', 'unlock it');
    expect(offered(first.modelCalls[0])).not.toContain('fixed__secret');
    expect(first.results[0]!.content).toBe('unlocked');
    const opened = mcp.sessionsOpened;

    const toolkit = rt.app.get(McpToolkit);
    const scope = { identity: ANONYMOUS_IDENTITY, requestHeaders: {}, properties: {} };
    await waitFor(async () => (await toolkit.tools(scope)).some((tool) => tool.name === 'fixed__secret'), { what: 'the refreshed list' });
    llm.mock.onMessage('anything secret', { content: 'Maybe.' });
    const second = await run('default', 'mcp-secret', 'anything secret');
    expect(offered(second.modelCalls[0])).toContain('fixed__secret');
    expect(mcp.sessionsOpened).toBe(opened);
  });

  it('a LangGraph graph gets the same tools through mcpTools(config), with the request\'s headers', async () => {
    llm.mock.onToolResult('call-graph-who', { content: 'You are carol.' });
    llm.mock.onMessage('graph: tell me my name', { toolCalls: [{ id: 'call-graph-who', name: 'mine__whoami', arguments: {} }] });
    const { events, modelCalls } = await run('graph', 'mcp-graph', 'graph: tell me my name', 'carol');
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
    expect(modelCalls).toHaveLength(2);
    expect(offered(modelCalls[0])).toEqual(expect.arrayContaining(['mine__whoami', 'fixed__plan_trip']));
    const trip = modelCalls[0]!.tools!.find((tool) => tool.function.name === 'fixed__plan_trip')!;
    expect((trip.function.parameters as any).properties.days.type).toBe('integer');
    const toolMessage = modelCalls[1]!.messages.find((message) => message.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call-graph-who', content: 'Bearer carol' });
  });

  it('application shutdown closes every connection and ends its sessions on the server', async () => {
    const connections = rt.app.get(McpToolkit).connections();
    expect(connections.length).toBeGreaterThan(0);
    const ended = mcp.sessionsEnded;
    await rt.close();
    expect(connections.map((connection) => connection.status)).toEqual(connections.map(() => 'closed'));
    expect(mcp.sessionsEnded).toBe(ended + connections.length);
  });
});
