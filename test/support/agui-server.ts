import { EventType, type RunAgentInput } from '@ag-ui/core';
import { EventEncoder } from '@ag-ui/encoder';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real AG-UI agent server on loopback (node:http + @ag-ui/encoder), driven by scripted
 * scenarios, for testing the runtime against the real `HttpAgent` of @ag-ui/client:
 *
 *   const server = await startAguiServer({ chat: aguiScenarios.conversation(), down: aguiScenarios.httpError(500) });
 *   const agent = new HttpAgent({ url: server.url('chat') });
 *   ...
 *   server.requests[0].body.threadId, server.requests[0].headers.authorization
 *   await server.requests[0].closed   // 'completed' (the server ended it) or 'aborted' (the client hung up)
 *   await server.stop();
 *
 * A scenario receives the run input and writes the answer: `send(event)` (SSE via EventEncoder),
 * `write(raw)` (anything, e.g. malformed SSE), `fail(status, body)`, `end()`; `clientGone`
 * resolves when the client closes the connection, which is how "hang forever" is written.
 */
export interface AguiServer {
  /** `http://127.0.0.1:<port>/<route>` */
  url(route: string): string;
  /** Every request received, oldest first. */
  requests: RecordedAgentRequest[];
  /** Requests to one route. */
  requestsTo(route: string): RecordedAgentRequest[];
  stop(): Promise<void>;
}

export interface RecordedAgentRequest {
  route: string;
  method: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (HttpAgent sends the RunAgentInput). */
  body: RunAgentInput;
  /** Settles when the connection is closed: ended by the scenario, or aborted by the client first. */
  closed: Promise<'completed' | 'aborted'>;
}

export interface ScenarioContext {
  input: RunAgentInput;
  headers: IncomingHttpHeaders;
  /** Writes one event as SSE (`data: {...}\n\n`); the 200 and its headers go out with the first write. */
  send(event: Record<string, unknown>): void;
  /** Writes raw text into the SSE body. */
  write(raw: string): void;
  /** Answers an error status with a body instead of a stream. */
  fail(status: number, body: string, contentType?: string): void;
  /** Ends the response (the stream). */
  end(): void;
  /** Drops the connection without ending the response, like a crashing server. */
  hangUp(): void;
  /** Resolves after `ms`, or as soon as the client is gone. */
  wait(ms: number): Promise<void>;
  /** Resolves when the client closes the connection. */
  clientGone: Promise<void>;
  isClientGone(): boolean;
}

export type Scenario = (ctx: ScenarioContext) => void | Promise<void>;

export async function startAguiServer(routes: Record<string, Scenario>): Promise<AguiServer> {
  const requests: RecordedAgentRequest[] = [];
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      // A scenario bug must show up in the test, not kill the server silently.
      console.error('agui-server scenario failed', error);
      if (!res.headersSent) res.writeHead(599).end();
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = (req.url ?? '/').replace(/^\//, '').split('?')[0]!;
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let onClose!: (how: 'completed' | 'aborted') => void;
    const closed = new Promise<'completed' | 'aborted'>((resolve) => (onClose = resolve));
    let gone = false;
    let onGone!: () => void;
    const clientGone = new Promise<void>((resolve) => (onGone = resolve));
    res.on('close', () => {
      gone = true;
      onClose(res.writableFinished ? 'completed' : 'aborted');
      onGone();
    });
    // Writes after the client left fail; the scenario need not care.
    res.on('error', () => undefined);
    const body = raw ? (JSON.parse(raw) as RunAgentInput) : ({} as RunAgentInput);
    requests.push({ route, method: req.method ?? 'GET', headers: req.headers, body, closed });

    const scenario = routes[route];
    if (!scenario) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no scenario '${route}'`);
      return;
    }
    const encoder = new EventEncoder({ accept: req.headers.accept });
    const open = () => {
      if (res.headersSent) return;
      res.writeHead(200, { 'content-type': encoder.getContentType(), 'cache-control': 'no-cache' });
      res.flushHeaders();
    };
    const live = () => !gone && !res.writableEnded && !res.destroyed;
    await scenario({
      input: body,
      headers: req.headers,
      send: (event) => {
        if (!live()) return;
        open();
        res.write(encoder.encodeSSE(event as never));
      },
      write: (text) => {
        if (!live()) return;
        open();
        res.write(text);
      },
      fail: (status, text, contentType = 'text/plain') => {
        if (!live()) return;
        res.writeHead(status, { 'content-type': contentType }).end(text);
      },
      end: () => {
        if (!live()) return;
        open();
        res.end();
      },
      hangUp: () => {
        res.socket?.destroy();
      },
      wait: (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          void clientGone.then(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
      clientGone,
      isClientGone: () => gone,
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (route) => `http://127.0.0.1:${port}/${route}`,
    requests,
    requestsTo: (route) => requests.filter((request) => request.route === route),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The events of a complete, well-formed run: a step, state, text and a tool call. */
export function conversationEvents(input: RunAgentInput, text = ['Hello', ' from the agent']): Array<Record<string, unknown>> {
  const { threadId, runId } = input;
  return [
    { type: EventType.RUN_STARTED, threadId, runId },
    { type: EventType.STEP_STARTED, stepName: 'plan' },
    { type: EventType.STATE_SNAPSHOT, snapshot: { counter: 1, plan: ['look', 'answer'] } },
    { type: EventType.TEXT_MESSAGE_START, messageId: 'msg-1', role: 'assistant' },
    ...text.map((delta) => ({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'msg-1', delta })),
    { type: EventType.TEXT_MESSAGE_END, messageId: 'msg-1' },
    { type: EventType.STATE_DELTA, delta: [{ op: 'replace', path: '/counter', value: 2 }] },
    { type: EventType.TOOL_CALL_START, toolCallId: 'call-1', toolCallName: 'showAlert', parentMessageId: 'msg-1' },
    { type: EventType.TOOL_CALL_ARGS, toolCallId: 'call-1', delta: '{"message":"hi"}' },
    { type: EventType.TOOL_CALL_END, toolCallId: 'call-1' },
    { type: EventType.STEP_FINISHED, stepName: 'plan' },
    { type: EventType.RUN_FINISHED, threadId, runId },
  ];
}

/** Ready-made scenarios, one per kind of agent behaviour the runtime must cope with. */
export const aguiScenarios = {
  /** A well-formed run; `delayMs` between events. */
  conversation:
    (delayMs = 0): Scenario =>
    async (ctx) => {
      for (const event of conversationEvents(ctx.input)) {
        if (delayMs) await ctx.wait(delayMs);
        ctx.send(event);
      }
      ctx.end();
    },

  /** An HTTP error instead of a stream. */
  httpError:
    (status: number, body = '{"detail":"internal stack trace at agent.py:42"}'): Scenario =>
    (ctx) =>
      ctx.fail(status, body, 'application/json'),

  /** RUN_STARTED, then a `data:` line that is not JSON. */
  malformedSse: (): Scenario => async (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.write('data: {"type": "TEXT_MESSAGE_START", oops\n\n');
    await ctx.clientGone;
  },

  /** RUN_STARTED, then JSON that is not an AG-UI event (a content event without its messageId). */
  invalidEvent: (): Scenario => async (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.write('data: {"type":"TEXT_MESSAGE_CONTENT","delta":"x"}\n\n');
    await ctx.clientGone;
  },

  /** Text before RUN_STARTED. */
  contentBeforeStart: (): Scenario => (ctx) => {
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
    ctx.send({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: 'too early' });
    ctx.end();
  },

  /** Content for a message id that was never started. */
  mismatchedIds: (): Scenario => (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
    ctx.send({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm2', delta: 'whose?' });
    ctx.end();
  },

  /** A complete run, then more events after RUN_FINISHED. */
  eventsAfterFinish: (): Scenario => (ctx) => {
    for (const event of conversationEvents(ctx.input)) ctx.send(event);
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'late', role: 'assistant' });
    ctx.end();
  },

  /** The agent reports its own failure. */
  runError: (): Scenario => (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.send({ type: EventType.RUN_ERROR, message: 'model quota exceeded', code: 'quota' });
    ctx.end();
  },

  /** Some content, then the server drops the connection mid-answer. */
  diesMidStream: (): Scenario => async (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
    await ctx.wait(20);
    ctx.hangUp();
  },

  /** A complete run, then the server drops the connection instead of ending the response. */
  diesAfterFinish: (): Scenario => async (ctx) => {
    for (const event of conversationEvents(ctx.input)) ctx.send(event);
    await ctx.wait(20);
    ctx.hangUp();
  },

  /** Some content, then the stream ends without RUN_FINISHED or RUN_ERROR. */
  noTerminal: (): Scenario => (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
    ctx.end();
  },

  /** Never answers at all (not even the status line) until the client gives up. */
  hang: (): Scenario => async (ctx) => {
    await ctx.clientGone;
  },

  /** Starts the run and a message, then goes silent until the client gives up. */
  hangAfterStart: (): Scenario => async (ctx) => {
    ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
    ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
    await ctx.clientGone;
  },

  /** Answers 200 at once, but sends its first event only after `delayMs`. */
  slowFirstEvent:
    (delayMs: number): Scenario =>
    async (ctx) => {
      ctx.write(': accepted\n\n');
      await ctx.wait(delayMs);
      for (const event of conversationEvents(ctx.input)) ctx.send(event);
      ctx.end();
    },

  /** Answers 200 at once, but stays silent until `released` (the test says when), then answers. */
  silentUntil:
    (released: Promise<void>): Scenario =>
    async (ctx) => {
      ctx.write(': accepted\n\n');
      await Promise.race([released, ctx.clientGone]);
      if (ctx.isClientGone()) return;
      for (const event of conversationEvents(ctx.input)) ctx.send(event);
      ctx.end();
    },

  /** A message whose content keeps coming every `intervalMs`, forever. */
  trickle:
    (intervalMs: number): Scenario =>
    async (ctx) => {
      ctx.send({ type: EventType.RUN_STARTED, threadId: ctx.input.threadId, runId: ctx.input.runId });
      ctx.send({ type: EventType.TEXT_MESSAGE_START, messageId: 'm1', role: 'assistant' });
      while (!ctx.isClientGone()) {
        await ctx.wait(intervalMs);
        ctx.send({ type: EventType.TEXT_MESSAGE_CONTENT, messageId: 'm1', delta: '.' });
      }
    },

  /** Picks a scenario from the run's threadId (`<name>:...`), so one agent can play several. */
  byThread:
    (scenarios: Record<string, Scenario>): Scenario =>
    (ctx) => {
      const name = String(ctx.input.threadId).split(':')[0]!;
      const scenario = scenarios[name];
      if (!scenario) return ctx.fail(404, `no scenario '${name}'`);
      return scenario(ctx);
    },
};

/** A loopback port nobody listens on (listened on once, then released). */
export async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
