import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AimockServer, startAimock } from '../support/aimock.js';
import { type TestDatabase, testDatabaseOptions } from '../support/database.js';
import { type RuntimeProcess, startRuntimeProcess } from '../support/runtime-process.js';
import { waitFor } from '../support/wait-for.js';
import { openStream, runInput, userMessage } from '../v2/support/v2-client.js';
import { databaseEnv } from '../health/database-rows.js';

/** A span as OTLP/HTTP JSON carries it, attributes flattened. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string }>;
  status?: { code?: number };
}

/** A real OTLP/HTTP receiver on loopback: collects the JSON the exporter POSTs to /v1/traces. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; server: Server }> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const payload = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: any[] }> }> };
        for (const resource of payload.resourceSpans) {
          for (const scope of resource.scopeSpans) {
            for (const span of scope.spans) spans.push({ ...span, attributes: flatten(span.attributes ?? []), events: span.events ?? [] });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

function flatten(attributes: Array<{ key: string; value: Record<string, unknown> }>): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const { key, value } of attributes) {
    const [kind, raw] = Object.entries(value)[0] ?? [];
    flat[key] = kind === 'intValue' ? Number(raw) : kind === 'arrayValue' ? (raw as { values: Array<Record<string, unknown>> }).values.map((v) => Object.values(v)[0]) : raw;
  }
  return flat;
}

describe('traces (OpenTelemetry, OTLP/HTTP)', () => {
  let llm: AimockServer;
  let db: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let server: RuntimeProcess;

  beforeAll(async () => {
    llm = await startAimock();
    // First match wins: the answer to the tool's result before the fixture that calls the tool.
    llm.mock.onToolResult('call-state', { content: 'The counter is now 1.' });
    llm.mock.onMessage('count to one', { toolCalls: [{ id: 'call-state', name: 'AGUISendStateSnapshot', arguments: { snapshot: { counter: 1 } } }] });
    receiver = await startReceiver();
    db = await testDatabaseOptions();
    server = await startRuntimeProcess({
      ...databaseEnv(db),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'copilot-runtime-under-test',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
    await db?.cleanup();
    await llm?.stop();
  });

  it('sends one trace per request: the inbound traceparent, invoke_agent, chat, execute_tool and database spans, propagated to the model', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const stream = openStream(
      `${server.url}/agent/default/run`,
      runInput({ threadId: 'trace-t1', runId: 'trace-r1', messages: [userMessage('u1', 'count to one')] }),
      { traceparent: `00-${traceId}-${callerSpanId}-01` },
    );
    const { events } = await stream.done;
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');

    const ofTrace = () => receiver.spans.filter((span) => span.traceId === traceId);
    const spans = await waitFor(() => {
      const found = ofTrace();
      const chats = found.filter((span) => span.name.startsWith('chat '));
      return found.some((span) => span.name.startsWith('invoke_agent')) && chats.length === 2 && found.some((span) => span.name.startsWith('execute_tool')) && found;
    }, { what: 'the run, its two model calls and its tool call' });

    // The HTTP server span honours the caller's traceparent.
    const httpSpan = spans.find((span) => span.kind === 2 && span.parentSpanId === callerSpanId);
    expect(httpSpan).toBeDefined();

    const run = spans.find((span) => span.name === 'invoke_agent default')!;
    expect(run.parentSpanId).toBe(httpSpan!.spanId);
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'default',
      'gen_ai.conversation.id': 'trace-t1',
      'copilotkit.run.id': 'trace-r1',
      'enduser.id': 'anonymous',
      'copilotkit.run.status': 'succeeded',
    });

    const chats = spans.filter((span) => span.name === 'chat gpt-4o-mini');
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.parentSpanId).toBe(run.spanId);
      expect(chat.kind).toBe(3); // CLIENT
      expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' });
      expect(chat.attributes['gen_ai.usage.input_tokens']).toEqual(expect.any(Number));
      expect(chat.attributes['gen_ai.usage.output_tokens']).toEqual(expect.any(Number));
      expect(chat.attributes['gen_ai.response.time_to_first_chunk']).toEqual(expect.any(Number));
      expect(chat.events.map((event) => event.name)).toContain('gen_ai.first_token');
    }
    expect(chats.map((chat) => chat.attributes['gen_ai.response.finish_reasons']).flat().sort()).toEqual(['stop', 'tool_calls']);

    const tool = spans.find((span) => span.name === 'execute_tool AGUISendStateSnapshot')!;
    expect(tool.parentSpanId).toBe(run.spanId);
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'AGUISendStateSnapshot', 'gen_ai.tool.call.id': 'call-state', 'copilotkit.tool.source': 'state' });

    // Database spans (instrumentation-pg) in the same trace.
    expect(spans.some((span) => typeof span.attributes['db.system.name'] === 'string' || span.attributes['db.system'] === 'postgresql')).toBe(true);

    // The model calls went out with this trace's traceparent (undici instrumentation).
    const modelRequests = llm.mock.getRequests().filter((entry) => entry.path.endsWith('/chat/completions'));
    expect(modelRequests.length).toBeGreaterThanOrEqual(2);
    for (const request of modelRequests.slice(-2)) expect(request.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });
});
