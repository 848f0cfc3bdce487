import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentRegistry } from '../agents/agent-registry.js';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import type { RequestContext } from '../common/request-context.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { JsonBodyReader } from '../http/json-body.js';
import { RequestContexts } from '../http/request-contexts.js';
import { RunsService } from '../runs/runs.service.js';
import { CopilotRuntimeService } from '../runtime/copilot-runtime.service.js';
import { v2RunOptions } from '../runtime/run-request.js';
import { StatelessRuns } from '../runtime/stateless-runs.service.js';
import { isThreadCall, type AgUiCall, type ThreadCall } from './agui-routes.js';
import { liveRunEvents } from './event-projection.js';
import { forwardableHeaders, resolveHeaderForwarding, type HeaderForwardingPolicy } from './header-forwarding.js';
import { replayThenFollow } from './history-replay.js';
import {
  agentNotFound,
  errorAnswer,
  payloadTooLarge,
  sendJson,
  type JsonAnswer,
} from './http-answers.js';
import {
  cloudSettings,
  invalidJson,
  parseRunAgentInput,
  parseStopBody,
  requestProperties,
  requestUrl,
  type Parsed,
} from './request-bodies.js';
import { runtimeInfo } from './runtime-info.js';
import { streamEvents } from './sse-stream.js';
import { isSuggestionRun } from './suggestion-runs.js';
import { ThreadEndpoints } from './thread-endpoints.js';
import { TranscribeEndpoint } from './transcribe-endpoint.js';
import { requestLogContext } from '../observability/logging/log-context.js';

/**
 * Where a call's body comes from: the request itself (REST routes), or the single-route
 * envelope's `body` field, already parsed (undefined when the envelope had none).
 */
export type CallBody = { from: 'request' } | { from: 'envelope'; value: unknown };

const STOPPED = { type: 'RUN_ERROR', message: 'Run stopped by user', code: 'STOPPED' } as const;

/**
 * The v2 operations (info, run, connect, stop, transcribe), the same whichever route brought
 * them. Every failure before a stream starts is a JSON answer with its own status (404 agent,
 * 400 body, 409 busy thread, ...); once a stream is open, failures are the run's RUN_ERROR.
 */
@Injectable()
export class AgUiHandlers {
  private readonly logger = new Logger('AgUi');
  private readonly forwarding: HeaderForwardingPolicy;
  private readonly heartbeatMs: number;

  constructor(
    private readonly runtime: CopilotRuntimeService,
    private readonly statelessRuns: StatelessRuns,
    private readonly agents: AgentRegistry,
    private readonly contexts: RequestContexts,
    private readonly bodies: JsonBodyReader,
    private readonly runs: RunsService,
    private readonly threadEndpoints: ThreadEndpoints,
    private readonly transcription: TranscribeEndpoint,
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
  ) {
    this.forwarding = resolveHeaderForwarding(options.headerForwarding);
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
  }

  /** Serves one call. Never rejects: whatever happens is answered (or ends the stream). */
  async serve(call: AgUiCall, body: CallBody, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // The same resolver as GraphQL and graphql-ws; a failure is the v2 401 answer below.
      const ctx = await this.contexts.resolveRequest(req, res);
      if (isThreadCall(call)) return await this.thread(ctx, call, body, req, res);
      switch (call.method) {
        case 'info':
          return sendJson(res, { status: 200, body: runtimeInfo(await this.agents.listAvailable({ identity: ctx.identity, properties: {} }), { transcription: this.transcription.enabled }) });
        case 'transcribe':
          return sendJson(res, await this.transcription.serve(body, req, ctx.signal));
        case 'agent/run':
          return await this.run(ctx, call.agentId, body, req, res);
        case 'agent/suggest':
          return await this.suggest(ctx, call.agentId, body, req, res);
        case 'agent/connect':
          return await this.connect(ctx, call.agentId, body, req, res);
        case 'agent/stop':
          return await this.stop(ctx, call.agentId, call.threadId, body, req, res);
      }
    } catch (error) {
      // The edge's LogContext: it exists even when resolving the caller is what failed.
      const log = requestLogContext(req);
      if (!res.headersSent) return sendJson(res, errorAnswer(error, log));
      const errorId = newId('err');
      this.logger.error(`[${errorId}] ${call.method} stream failed: ${(error as Error).message}`, (error as Error).stack, log);
      if (!res.writableEnded) res.end();
    }
  }

  /**
   * Starts the run (the runner takes the thread's lock first: a busy thread is 409 before any
   * stream), then streams its events. A suggestion run (isSuggestionRun: what the client sends
   * for suggestions on the single route) is served as `agent/suggest`: nothing stored. Closing the stream does not stop the run: `/stop` does.
   */
  private async run(ctx: RequestContext, agentId: string, body: CallBody, req: IncomingMessage, res: ServerResponse) {
    if (!(await this.knows(ctx, agentId))) return sendJson(res, agentNotFound(agentId));
    const input = await this.runInput(body, req, res);
    if (!input.ok) return sendJson(res, input.answer);
    if (isSuggestionRun(input.value)) return this.suggestWith(ctx, agentId, input.value, req, res);
    const handle = await this.runtime.run(
      ctx,
      {
        agentId,
        input: input.value,
        properties: requestProperties(input.value.forwardedProps),
        forwardedHeaders: forwardableHeaders(req.headers, this.forwarding),
        url: requestUrl(req),
        cloud: cloudSettings(input.value.forwardedProps),
      },
      v2RunOptions(),
    );
    await this.stream(res, liveRunEvents(handle.events, input.value));
  }

  /**
   * A suggestion run (`@copilotkit/core`'s suggestion engine, when `info.suggestions` is set):
   * the provider agent runs on the chat's messages, context and the client's forced
   * `copilotkitSuggest` tool choice, through the run policy stages, and streams as `/run` does;
   * nothing is stored (the suggestion's throwaway thread never shows in thread lists).
   */
  private async suggest(ctx: RequestContext, agentId: string, body: CallBody, req: IncomingMessage, res: ServerResponse) {
    if (!(await this.knows(ctx, agentId))) return sendJson(res, agentNotFound(agentId));
    const input = await this.runInput(body, req, res);
    if (!input.ok) return sendJson(res, input.answer);
    await this.suggestWith(ctx, agentId, input.value, req, res);
  }

  private async suggestWith(ctx: RequestContext, agentId: string, input: RunAgentInput, req: IncomingMessage, res: ServerResponse) {
    const events = await this.statelessRuns.run(ctx, {
      agentId,
      input,
      properties: requestProperties(input.forwardedProps),
      forwardedHeaders: forwardableHeaders(req.headers, this.forwarding),
    });
    await this.stream(res, events);
  }

  /**
   * The thread's history then its live run, if any. A thread the caller cannot see (unknown, or
   * another identity's) is an empty stream, as upstream answers for an unknown thread: nothing
   * about other people's threads leaks.
   */
  private async connect(ctx: RequestContext, agentId: string, body: CallBody, req: IncomingMessage, res: ServerResponse) {
    if (!(await this.knows(ctx, agentId))) return sendJson(res, agentNotFound(agentId));
    const input = await this.runInput(body, req, res);
    if (!input.ok) return sendJson(res, input.answer);
    const history = await this.runs.history(ctx, input.value.threadId);
    await this.stream(res, history ? replayThenFollow(history) : noEvents());
  }

  /**
   * Upstream's answers: `{stopped:true, interrupt}` or `{stopped:false, message}`. A thread the
   * caller cannot see gets the unknown-thread answer and nothing is touched; a runId that is not
   * the thread's active run stops nothing.
   */
  private async stop(
    ctx: RequestContext,
    agentId: string,
    threadId: string,
    body: CallBody,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    if (!(await this.knows(ctx, agentId))) return sendJson(res, agentNotFound(agentId));
    const target = await this.stopBody(body, req, res);
    if (!target.ok) return sendJson(res, target.answer);
    const { runId } = target.value;
    const notStopped: JsonAnswer = {
      status: 200,
      body: {
        stopped: false,
        message: runId ? `Run '${runId}' is not the active run for thread '${threadId}'.` : `No active run for thread '${threadId}'.`,
      },
    };
    // Upstream has one answer for every run not stopped, an unknown or other identity's thread included.
    const result = await this.runs.stop(ctx, { threadId, runId }).catch(notFoundAsNull);
    sendJson(res, result?.stopped ? { status: 200, body: { stopped: true, interrupt: STOPPED } } : notStopped);
  }

  /** A thread resource call: its JSON body (mutations) read, then answered as JSON. */
  private async thread(ctx: RequestContext, call: ThreadCall, body: CallBody, req: IncomingMessage, res: ServerResponse) {
    let value: unknown;
    if (call.method === 'threads/update' || call.method === 'threads/archive' || call.method === 'threads/delete') {
      const raw = await this.rawBody(body, req, res);
      if (!raw.ok) return sendJson(res, { status: raw.answer.status, body: { error: 'Invalid request body' } });
      value = raw.value;
    }
    sendJson(res, await this.threadEndpoints.serve(ctx, call, value));
  }

  private async knows(ctx: RequestContext, agentId: string): Promise<boolean> {
    return (await this.agents.find(agentId, { identity: ctx.identity, properties: {} })) !== undefined;
  }

  private async stream(res: ServerResponse, events: AsyncIterable<BaseEvent>): Promise<void> {
    await streamEvents(res, events, this.heartbeatMs);
  }

  private async runInput(body: CallBody, req: IncomingMessage, res: ServerResponse) {
    const raw = await this.rawBody(body, req, res);
    return raw.ok ? parseRunAgentInput(raw.value) : raw;
  }

  private async stopBody(body: CallBody, req: IncomingMessage, res: ServerResponse): Promise<Parsed<{ runId?: string }>> {
    if (body.from === 'envelope') return parseStopBody(body.value);
    const read = await this.bodies.read(req, res);
    if (read.ok) return parseStopBody(read.body);
    if (read.problem === 'too_large') return { ok: false, answer: payloadTooLarge(this.bodies.limit) };
    return { ok: false, answer: { status: 400, body: { error: 'Invalid stop request' } } };
  }

  /**
   * The JSON value of a run or connect body. An envelope `body` given as a string is JSON text
   * (upstream forwards it to the handler as the request body).
   */
  private async rawBody(body: CallBody, req: IncomingMessage, res: ServerResponse): Promise<Parsed<unknown>> {
    if (body.from === 'envelope') {
      if (typeof body.value !== 'string') return { ok: true, value: body.value };
      try {
        return { ok: true, value: JSON.parse(body.value) };
      } catch (error) {
        return { ok: false, answer: invalidJson((error as Error).message) };
      }
    }
    const read = await this.bodies.read(req, res);
    if (read.ok) return { ok: true, value: read.body };
    if (read.problem === 'too_large') return { ok: false, answer: payloadTooLarge(this.bodies.limit) };
    return { ok: false, answer: invalidJson(read.message) };
  }
}

/** RunsService's "not found" errors (an unknown or other identity's thread or run), as no result. */
function notFoundAsNull(error: unknown): null {
  if (error instanceof CopilotRuntimeError && (error.code === 'THREAD_NOT_FOUND' || error.code === 'RUN_NOT_FOUND')) {
    return null;
  }
  throw error;
}

async function* noEvents(): AsyncGenerator<BaseEvent> {}
