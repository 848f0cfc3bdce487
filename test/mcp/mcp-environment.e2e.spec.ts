import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/bootstrap.js';
import { parseEnvironment } from '../../src/config/environment.js';
import { McpToolkit } from '../../src/index.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { testDatabaseOptions, type TestDatabase } from '../support/database.js';
import { postJson, runInput, userMessage } from '../v2/support/v2-client.js';
import { memoryStdio } from './support/mcp-servers.js';

/** The standalone server configured by environment only: MCP_SERVERS and MCP_CLIENT_SERVERS_ALLOW. */
describe('MCP servers from the environment (standalone server)', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let app: INestApplication;
  let url: string;
  const memory = memoryStdio('memory');

  beforeAll(async () => {
    llm = await startAimock();
    db = await testDatabaseOptions();
    const env = parseEnvironment({
      DATABASE_URL: db.options.url,
      DATA_DIR: db.options.dataDir,
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      LOG_LEVEL: 'error',
      MCP_SERVERS: JSON.stringify([{ ...memory.config, tools: { allow: ['read_graph', 'create_entities'] } }]),
      MCP_CLIENT_SERVERS_ALLOW: 'https://mcp.acme.example/*',
    });
    app = await createApp(env);
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}${env.COPILOTKIT_PATH}`;
  });

  afterAll(async () => {
    await app?.close();
    await db?.cleanup();
    memory.cleanup();
    await llm?.stop();
  });

  it('offers the configured server\'s allowed tools and runs them', async () => {
    llm.mock.onToolResult('call-env-graph', { content: 'The graph is empty.' });
    llm.mock.onMessage('read the graph', { toolCalls: [{ id: 'call-env-graph', name: 'memory__read_graph', arguments: {} }] });
    const reply = await postJson(`${url}/agent/default/run`, runInput({ threadId: 'mcp-env', runId: 'mcp-env-r1', messages: [userMessage('u1', 'read the graph')] }));
    expect(reply.status).toBe(200);
    const events = reply.text.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5)));
    expect(events.find((event) => event.type === 'TOOL_CALL_RESULT')).toMatchObject({ content: '{"entities":[],"relations":[]}' });
    expect(events.at(-1)).toMatchObject({ type: 'RUN_FINISHED' });
    const offered = (llm.chatRequests()[0]!.tools ?? []).map((tool) => tool.function.name).filter((name) => name.startsWith('memory__'));
    expect(offered.sort()).toEqual(['memory__create_entities', 'memory__read_graph']);
    expect(app.get(McpToolkit).statuses()).toEqual([{ id: 'memory', status: 'ready' }]);
  });

  it('refuses a client-named server outside MCP_CLIENT_SERVERS_ALLOW with 400', async () => {
    const reply = await postJson(
      `${url}/agent/default/run`,
      runInput({
        threadId: 'mcp-env-refused',
        runId: 'mcp-env-r2',
        messages: [userMessage('u1', 'hi')],
        forwardedProps: { mcpServers: [{ endpoint: 'https://evil.example/mcp' }] },
      }),
    );
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('matches none of the allowed MCP server URL patterns (https://mcp.acme.example/*)'),
    });
  });
});
