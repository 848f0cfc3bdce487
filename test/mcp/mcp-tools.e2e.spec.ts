import { HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpToolkit, type McpServerConfig } from '../../src/index.js';
import type { McpConnection, McpConnectionStatus } from '../../src/mcp/mcp-connection.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer, type ChatCompletionBody } from '../support/aimock.js';
import { chatInput, messagesOf, streamResponse } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { postJson, runInput, userMessage } from '../v2/support/v2-client.js';
import { everythingStdio, freePort, memoryStdio, startEverythingHttp, type HttpMcpServer } from './support/mcp-servers.js';

/**
 * MCP servers as tools of the built-in agent, with real servers from npm: server-everything over
 * stdio and over Streamable HTTP, server-memory over stdio. aimock plays the model; runs are
 * driven by the real v1 client and the v2 routes.
 */
describe('MCP servers: tools of the built-in agent', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let web: HttpMcpServer;
  let doomed: HttpMcpServer;
  /** server-everything over the older HTTP+SSE transport only. */
  let legacy: HttpMcpServer;
  let late: HttpMcpServer | undefined;
  let latePort: number;
  let memory: ReturnType<typeof memoryStdio>;
  /** A server a client names without being allowed to: it must never be contacted. */
  let forbidden: Server;
  let forbiddenHits = 0;
  /** Every warning logged since boot (the clash is logged at the first run, whichever test it is). */
  let warn: { mock: { calls: unknown[][] }; mockRestore(): void };

  beforeAll(async () => {
    warn = jest.spyOn(Logger.prototype, 'warn');
    llm = await startAimock();
    [web, doomed, legacy, latePort] = await Promise.all([startEverythingHttp(), startEverythingHttp(), startEverythingHttp('sse'), freePort()]);
    memory = memoryStdio('memory');
    forbidden = createServer((_req, res) => {
      forbiddenHits++;
      res.end();
    });
    await new Promise<void>((resolve) => forbidden.listen(0, '127.0.0.1', resolve));
    const servers: McpServerConfig[] = [
      { id: 'web', transport: 'http', url: web.url, tools: { allow: ['get-sum', 'echo', 'get-structured-content'] } },
      memory.config,
      everythingStdio('every', { tools: { deny: ['get-tiny-image', 'gzip-*', 'toggle-*'] }, callTimeoutMs: 700 }),
      { id: 'doomed', transport: 'http', url: doomed.url, tools: { allow: ['trigger-long-running-operation'] } },
      { id: 'late', transport: 'http', url: `http://127.0.0.1:${latePort}/mcp`, tools: { allow: ['echo'] } },
      { id: 'legacy', transport: 'http', url: legacy.url, tools: { allow: ['echo'] } },
    ];
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: {
        // A server action under a name an MCP tool also gets: the action keeps it (first source wins).
        actions: [
          {
            name: 'every__get-env',
            description: 'The deployment environment (a server action)',
            parameters: { type: 'object', properties: {} },
            handler: () => 'production',
          },
        ],
        mcp: {
          servers,
          clientServers: { allow: [`http://127.0.0.1:${web.port}/*`] },
          reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        },
      },
    });
    // The configured servers connect in the background; the app served requests before this.
    await Promise.all(['web', 'memory', 'every', 'doomed', 'legacy'].map((id) => statusOf(id, 'ready')));
  });

  afterAll(async () => {
    warn?.mockRestore();
    await rt?.close();
    await Promise.all([web?.kill(), doomed?.kill(), late?.kill(), legacy?.kill()]);
    await new Promise<void>((resolve) => (forbidden ? forbidden.close(() => resolve()) : resolve()));
    memory?.cleanup();
    await llm?.stop();
  });

  function connection(id: string): McpConnection {
    const found = rt.app.get(McpToolkit).connections().find((candidate) => candidate.target.id === id);
    if (!found) throw new Error(`no connection to ${id}`);
    return found;
  }

  /** Resolves on the connection's status event (or at once if it already has that status). */
  function statusOf(id: string, status: McpConnectionStatus): Promise<void> {
    const target = connection(id);
    if (target.status === status) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = target.onStatus((now) => {
        if (now !== status) return;
        stop();
        resolve();
      });
    });
  }

  /** A v2 run of the built-in agent through the real HttpAgent. */
  async function runV2(threadId: string, text: string, forwardedProps: Record<string, unknown> = {}) {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId });
    agent.messages = [{ id: `${threadId}-u1`, role: 'user', content: text } as Message];
    const events: BaseEvent[] = [];
    const before = llm.chatRequests().length;
    await agent.runAgent({ tools: [], forwardedProps }, { onEvent: ({ event }) => void events.push(event) });
    return { events, modelCalls: llm.chatRequests().slice(before) };
  }

  function offered(request: ChatCompletionBody | undefined): string[] {
    return (request?.tools ?? []).map((tool) => tool.function.name);
  }

  function results(events: BaseEvent[]): Array<Record<string, any>> {
    return events.filter((event) => event.type === EventType.TOOL_CALL_RESULT) as Array<Record<string, any>>;
  }

  /** The tools a server itself lists, through a client of our own (the ground truth of the schemas). */
  async function listedBy(command: { command: string; args: string[]; env?: Record<string, string> }) {
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StdioClientTransport({ ...command, stderr: 'ignore' }));
    try {
      return (await client.listTools()).tools;
    } finally {
      await client.close();
    }
  }

  it('v2: the model calls tools with integer, array and nested-object arguments; the real results go back to it', async () => {
    llm.mock.onToolResult('call-remember', { content: 'Noted: 2 + 40 = 42, and Ada is remembered.' });
    llm.mock.onMessage('add and remember', {
      toolCalls: [
        { id: 'call-sum', name: 'web__get-sum', arguments: { a: 2, b: 40 } },
        {
          id: 'call-remember',
          name: 'memory__create_entities',
          arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program', 'born 1815'] }] },
        },
      ],
    });

    const { events, modelCalls } = await runV2('mcp-v2-args', 'add and remember');

    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
    expect(modelCalls).toHaveLength(2);
    // The follow-up model call carries both real results.
    const toolMessages = modelCalls[1]!.messages.filter((message) => message.role === 'tool');
    expect(toolMessages).toEqual([
      expect.objectContaining({ tool_call_id: 'call-sum', content: 'The sum of 2 and 40 is 42.' }),
      expect.objectContaining({ tool_call_id: 'call-remember' }),
    ]);
    expect(JSON.parse(String(toolMessages[1]!.content))).toEqual({
      entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program', 'born 1815'] }],
    });
    // server-memory really stored the nested object: read back through another tool.
    llm.mock.onMessage('what do you know', { toolCalls: [{ id: 'call-read', name: 'memory__open_nodes', arguments: { names: ['Ada'] } }] });
    llm.mock.onToolResult('call-read', { content: 'Ada wrote the first program.' });
    const read = await runV2('mcp-v2-read', 'what do you know');
    expect(JSON.parse(results(read.events)[0]!.content)).toMatchObject({ entities: [{ name: 'Ada', observations: ['wrote the first program', 'born 1815'] }] });

    // The schemas the model received are the servers' own, minus `$schema`.
    const [memoryTools, everyTools] = await Promise.all([
      listedBy(memory.config as Required<Pick<typeof memory.config, 'command' | 'args' | 'env'>>),
      listedBy({ command: process.execPath, args: everythingStdio('x').args! }),
    ]);
    const sent = new Map((modelCalls[0]!.tools ?? []).map((tool) => [tool.function.name, tool.function]));
    for (const tool of memoryTools) {
      const { $schema, ...withoutSchema } = tool.inputSchema as Record<string, unknown>;
      expect($schema).toBeDefined();
      expect(sent.get(`memory__${tool.name}`)?.parameters).toEqual(withoutSchema);
      expect(sent.get(`memory__${tool.name}`)?.description).toBe(tool.description);
    }
    const sum = everyTools.find((tool) => tool.name === 'get-sum')!;
    const { $schema: _dropped, ...sumSchema } = sum.inputSchema as Record<string, unknown>;
    expect(sent.get('web__get-sum')?.parameters).toEqual(sumSchema);
  });

  it('offers each server\'s tools under <server>__<tool>, honouring allow and deny lists', async () => {
    llm.mock.onMessage('list your tools', { content: 'Here they are.' });
    const { modelCalls } = await runV2('mcp-v2-list', 'list your tools');
    const names = offered(modelCalls[0]);
    expect(names.filter((name) => name.startsWith('web__')).sort()).toEqual(['web__echo', 'web__get-structured-content', 'web__get-sum']);
    expect(names.filter((name) => name.startsWith('doomed__'))).toEqual(['doomed__trigger-long-running-operation']);
    expect(names).toEqual(expect.arrayContaining(['every__echo', 'every__get-sum', 'every__trigger-long-running-operation']));
    expect(names.filter((name) => /^every__(get-tiny-image|gzip-|toggle-)/.test(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['memory__create_entities', 'memory__read_graph']));
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
  });

  it('a tool name clash with a server action: the action keeps the name (first source wins), logged once', async () => {
    {
      llm.mock.onToolResult('call-env', { content: 'It is production.' });
      llm.mock.onMessage('which environment', { toolCalls: [{ id: 'call-env', name: 'every__get-env', arguments: {} }] });
      const first = await runV2('mcp-v2-clash-1', 'which environment');
      await runV2('mcp-v2-clash-2', 'which environment');
      const offeredEnv = (first.modelCalls[0]!.tools ?? []).filter((tool) => tool.function.name === 'every__get-env');
      expect(offeredEnv).toHaveLength(1);
      expect(offeredEnv[0]!.function.description).toBe('The deployment environment (a server action)');
      expect(results(first.events)[0]!.content).toBe('production');
      const clashLogs = warn.mock.calls.filter(([message]) => String(message).includes('Tool name clash: "every__get-env"'));
      expect(clashLogs).toHaveLength(1);
      expect(String(clashLogs[0]![0])).toBe('Tool name clash: "every__get-env" is offered by server actions and by mcp; server actions keeps it (first source wins).');
    }
  });

  it('v1: a server-side MCP result ends the run, as server actions do (text and structured content)', async () => {
    llm.mock.onMessage('weather in Chicago', {
      toolCalls: [{ id: 'call-weather-v1', name: 'web__get-structured-content', arguments: { location: 'Chicago' } }],
    });
    const client = new CopilotRuntimeClient({ url: rt.url });
    const { final } = await streamResponse(client, {
      data: chatInput({ threadId: 'mcp-v1', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'weather in Chicago' })] }),
    });
    expect(final.status).toMatchObject({ code: 'Success' });
    const messages = messagesOf(final);
    expect(messages.map((message) => message.__typename)).toEqual(['ActionExecutionMessageOutput', 'ResultMessageOutput']);
    expect(messages[1]).toMatchObject({ actionExecutionId: 'call-weather-v1', actionName: 'web__get-structured-content' });
    expect(JSON.parse(messages[1]!.result)).toEqual({ temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 });
  });

  it('a slow tool over its per-call timeout is an error result, and the run goes on', async () => {
    llm.mock.onToolResult('call-slow', { content: 'That took too long.' });
    llm.mock.onMessage('do the slow thing', {
      toolCalls: [{ id: 'call-slow', name: 'every__trigger-long-running-operation', arguments: { duration: 30, steps: 1 } }],
    });
    const { events } = await runV2('mcp-v2-slow', 'do the slow thing');
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
    const [result] = results(events);
    expect(JSON.parse(result!.content)).toEqual({
      error: { code: 'MCP_TIMEOUT', message: expect.stringContaining('did not answer within 700 ms') },
      result: '',
    });
    // The same server still answers the next call.
    llm.mock.onToolResult('call-echo-after', { content: 'ok' });
    llm.mock.onMessage('echo after the timeout', { toolCalls: [{ id: 'call-echo-after', name: 'every__echo', arguments: { message: 'still here' } }] });
    const after = await runV2('mcp-v2-after-slow', 'echo after the timeout');
    expect(results(after.events)[0]!.content).toBe('Echo: still here');
  });

  it('a server killed mid-call: the call is an error result, the run finishes, other servers keep working', async () => {
    llm.mock.onToolResult('call-doomed', { content: 'The operation was lost.' });
    llm.mock.onMessage('start the long operation', {
      toolCalls: [{ id: 'call-doomed', name: 'doomed__trigger-long-running-operation', arguments: { duration: 20, steps: 20 } }],
    });
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId: 'mcp-v2-killed' });
    agent.messages = [{ id: 'k-u1', role: 'user', content: 'start the long operation' } as Message];
    const events: BaseEvent[] = [];
    const running = agent.runAgent(
      { tools: [] },
      {
        onEvent: ({ event }) => {
          events.push(event);
          // The call has been sent to the server: it dies now.
          if (event.type === EventType.TOOL_CALL_END) void doomed.kill();
        },
      },
    );
    await running;
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
    expect(JSON.parse(results(events)[0]!.content)).toMatchObject({ error: { code: 'MCP_SERVER_UNAVAILABLE' } });

    // The next run: the dead server's tools are left out, the others work.
    llm.mock.onToolResult('call-sum-after', { content: '5' });
    llm.mock.onMessage('sum after the crash', { toolCalls: [{ id: 'call-sum-after', name: 'web__get-sum', arguments: { a: 2, b: 3 } }] });
    const after = await runV2('mcp-v2-after-crash', 'sum after the crash');
    expect(offered(after.modelCalls[0]).filter((name) => name.startsWith('doomed__'))).toEqual([]);
    expect(results(after.events)[0]!.content).toBe('The sum of 2 and 3 is 5.');
  });

  it('an old server speaking only HTTP+SSE is reached over SSE after Streamable HTTP is refused', async () => {
    llm.mock.onToolResult('call-legacy', { content: 'ok' });
    llm.mock.onMessage('echo the old way', { toolCalls: [{ id: 'call-legacy', name: 'legacy__echo', arguments: { message: 'hello 2024' } }] });
    const { events } = await runV2('mcp-v2-legacy', 'echo the old way');
    expect(results(events)[0]!.content).toBe('Echo: hello 2024');
  });

  it('a server down at boot: boot is fine, its tools are left out, and they appear once it is up', async () => {
    llm.mock.onMessage('is late there', { content: 'Let me see.' });
    const before = await runV2('mcp-v2-late-1', 'is late there');
    expect(offered(before.modelCalls[0]).filter((name) => name.startsWith('late__'))).toEqual([]);

    const up = statusOf('late', 'ready');
    late = await startEverythingHttp('streamableHttp', latePort);
    await up;
    const after = await runV2('mcp-v2-late-2', 'is late there');
    expect(offered(after.modelCalls[0])).toContain('late__echo');
  });

  it('a client-named server that is not allow-listed refuses the run: v1 BAD_USER_INPUT, v2 400; nothing contacted or stored', async () => {
    const endpoint = `http://127.0.0.1:${(forbidden.address() as AddressInfo).port}/mcp`;
    const modelCalls = llm.chatRequests().length;

    const client = new CopilotRuntimeClient({ url: rt.url });
    const { error } = await streamResponse(client, {
      data: chatInput({ threadId: 'mcp-v1-refused', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'hi' })] }),
      properties: { mcpServers: [{ endpoint, apiKey: 'k' }] },
    });
    expect(String(error)).toContain(`properties.mcpServers[0].endpoint "${endpoint}" was refused`);
    expect(JSON.stringify(error)).toContain('BAD_USER_INPUT');

    const reply = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({
        threadId: 'mcp-v2-refused',
        runId: 'mcp-v2-refused-r1',
        messages: [userMessage('u1', 'hi')],
        forwardedProps: { mcpEndpoints: [{ endpoint }] },
      }),
    );
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('properties.mcpEndpoints[0].endpoint') });

    const malformed = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({ threadId: 'mcp-v2-malformed', runId: 'mcp-v2-malformed-r1', messages: [userMessage('u1', 'hi')], forwardedProps: { mcpServers: 'nope' } }),
    );
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ code: 'BAD_USER_INPUT', message: 'properties.mcpServers must be an array of {endpoint, apiKey?}.' });

    expect(forbiddenHits).toBe(0);
    expect(llm.chatRequests()).toHaveLength(modelCalls);
    const store = rt.app.get(ConversationStore);
    expect(await store.findThread('mcp-v1-refused')).toBeNull();
    expect(await store.findThread('mcp-v2-refused')).toBeNull();
  });

  it('an allow-listed client-named server is connected and its tools used', async () => {
    const endpoint = web.url;
    llm.mock.onMessage('echo through my own server', { content: 'placeholder' });
    const probe = await runV2('mcp-v2-client-probe', 'echo through my own server', { mcpServers: [{ endpoint, apiKey: 'user-token' }] });
    const name = offered(probe.modelCalls[0]).find((candidate) => /^127_0_0_1_[0-9a-f]{6}__echo$/.test(candidate));
    expect(name).toBeDefined();

    llm.mock.onToolResult('call-client-echo', { content: 'done' });
    llm.mock.onMessage('use my server', { toolCalls: [{ id: 'call-client-echo', name: name!, arguments: { message: 'from the client' } }] });
    const { events } = await runV2('mcp-v2-client', 'use my server', { mcpServers: [{ endpoint, apiKey: 'user-token' }] });
    expect(results(events)[0]!.content).toBe('Echo: from the client');
    // Without naming it, the next request does not get that server's tools.
    const plain = await runV2('mcp-v2-client-plain', 'echo through my own server');
    expect(offered(plain.modelCalls[0])).not.toContain(name);
  });
});
