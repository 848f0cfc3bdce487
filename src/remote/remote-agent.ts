import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { Logger } from '@nestjs/common';
import type { AgentCall, PreparedAgentRun } from '../agents/agent-call.js';
import type { AgentLimits } from '../agents/agent-definition.js';
import type { RegisteredAgent } from '../agents/agent-registry.js';
import { timeoutFailure } from '../agents/agent-run-failures.js';
import type { AgentLookup } from '../agents/agent-source.js';
import { CopilotRuntimeError, type ErrorCode } from '../common/errors.js';
import { JsonLineError, JsonLinesIdleError, readJsonLines } from './json-lines.js';
import type { RemoteCallContext, RemoteEndpoint } from './remote-endpoint-config.js';
import { oneLine } from './remote-errors.js';
import { RemoteEventMapper } from './remote-event-mapper.js';
import type { RemoteHttpClient } from './remote-http-client.js';
import type { RemoteAgentInfo } from './remote-info.js';
import { toRemoteMessages } from './remote-messages.js';

const logger = new Logger('RemoteAgent');

/**
 * An agent of a remote endpoint, served like a registered one (v1 sessions, v2 runs, agents as
 * tools): a run POSTs `/agents/execute` and streams its JSON lines as AG-UI events. Contract of
 * `events` (as streamAgentRun's): RUN_STARTED first, then exactly one of RUN_FINISHED or RUN_ERROR
 * (code mapped from the endpoint's failure or the agent's reported error, message naming the
 * endpoint); never throws; a stop (signal) ends quietly and aborts the request. Limits: the
 * endpoint's `timeoutMs` bounds the wait for the answer and every silence inside it
 * (NETWORK_ERROR); the agent's `totalTimeoutMs` (`agentDefaults.limits`) bounds the run (AGENT_TIMEOUT).
 */
export class RemoteAgent implements RegisteredAgent {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly className: string;
  readonly builtIn = false;

  constructor(
    private readonly endpoint: RemoteEndpoint,
    readonly info: RemoteAgentInfo,
    private readonly http: RemoteHttpClient,
    readonly limits: Required<AgentLimits>,
  ) {
    this.id = info.name;
    this.name = info.name;
    this.description = info.description;
    this.className = info.type === 'crewai' ? 'RemoteCrewAIAgent' : 'RemoteLangGraphAgent';
  }

  async prepare(call: AgentCall): Promise<PreparedAgentRun> {
    return { events: (signal, state) => this.run(call, signal, state) };
  }

  /** `/agents/state`: the thread as the endpoint keeps it. */
  async loadState(threadId: string, lookup: AgentLookup): Promise<{ threadExists: boolean; state: unknown; messages: unknown }> {
    const answer = (await this.http.postJson(
      this.endpoint,
      '/agents/state',
      { properties: lookup.properties, threadId, name: this.id },
      lookup,
    )) as Record<string, unknown> | null;
    if (typeof answer !== 'object' || answer === null) {
      throw new CopilotRuntimeError('NETWORK_ERROR', `Remote endpoint ${this.endpoint.label}/agents/state sent an invalid answer: not a JSON object.`);
    }
    return { threadExists: answer.threadExists === true, state: answer.state ?? {}, messages: answer.messages ?? [] };
  }

  private async *run(call: AgentCall, signal: AbortSignal, state: unknown): AsyncGenerator<BaseEvent> {
    const { threadId, runId } = call.input;
    yield { type: EventType.RUN_STARTED, threadId, runId, timestamp: Date.now() } as BaseEvent;
    const mapper = new RemoteEventMapper(this.id);
    const ctx: RemoteCallContext = { identity: call.identity, properties: call.properties };
    // The run's own bound (the agent's totalTimeoutMs) besides the caller's stop: both abort the request.
    const run = new AbortController();
    const onStop = () => run.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    let overTime = false;
    const total = this.limits.totalTimeoutMs;
    const timer = total
      ? setTimeout(() => {
          overTime = true;
          run.abort(new Error('totalTimeoutMs'));
        }, total)
      : undefined;
    try {
      const body = await this.http.openStream(this.endpoint, '/agents/execute', this.executeBody(call.input, call.properties, state), ctx, run.signal);
      for await (const line of readJsonLines(body, { idleMs: this.endpoint.timeoutMs })) {
        if (run.signal.aborted) break;
        yield* mapper.map(line);
      }
      if (run.signal.aborted && !overTime) return;
      if (overTime) throw new Error('totalTimeoutMs');
      yield* mapper.finish();
      yield { type: EventType.RUN_FINISHED, threadId, runId, timestamp: Date.now() } as BaseEvent;
    } catch (error) {
      // Stopped (a caller gone, a stop request): the runner records it; no failure to report.
      if (signal.aborted) return;
      const failure = overTime ? timeoutFailure(this.id, 'totalTimeoutMs', total).event : this.failureOf(error);
      logger.warn(`Run ${runId}: ${failure.message}`, call.log ?? { threadId, runId });
      yield* safeFinish(mapper);
      yield { type: EventType.RUN_ERROR, message: failure.message, code: failure.code, timestamp: Date.now() } as BaseEvent;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
  }

  /** What upstream sends to `/agents/execute` (see contract/v1/wire/upstream.jsonl). */
  private executeBody(input: RunAgentInput, properties: Readonly<Record<string, unknown>>, state: unknown): Record<string, unknown> {
    const forwarded = (input.forwardedProps ?? {}) as Record<string, unknown>;
    const command = (forwarded.command ?? undefined) as { resume?: unknown; interruptEvent?: unknown } | undefined;
    const body: Record<string, unknown> = { name: this.id, threadId: input.threadId };
    if (typeof forwarded.nodeName === 'string' && forwarded.nodeName !== '') body.nodeName = forwarded.nodeName;
    body.messages = toRemoteMessages(input.messages);
    body.state = state ?? {};
    body.config = forwarded.config ?? {};
    body.properties = properties;
    body.actions = input.tools.map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters }));
    // An answer to an interrupt (v1 metaEvents, v2 forwardedProps.command.resume), as the SDK reads it.
    body.metaEvents =
      command && command.resume !== undefined
        ? [{ name: 'LangGraphInterruptEvent', value: command.interruptEvent ?? null, response: command.resume }]
        : [];
    return body;
  }

  private failureOf(error: unknown): { code: ErrorCode; message: string } {
    const where = `${this.endpoint.label}/agents/execute`;
    if (error instanceof CopilotRuntimeError) return { code: error.code, message: error.message };
    if (error instanceof JsonLineError) {
      return { code: 'AGENT_FAILED', message: `Remote endpoint ${where} sent an invalid answer: ${oneLine(error.message)}` };
    }
    if (error instanceof JsonLinesIdleError) {
      return { code: 'NETWORK_ERROR', message: `Remote endpoint ${where} sent nothing for ${error.idleMs} ms. Try again later.` };
    }
    const reason = oneLine((error as Error)?.message ?? String(error));
    return { code: 'NETWORK_ERROR', message: `Remote endpoint ${where} broke off its answer (${reason}). Try again later.` };
  }
}

/** Closes open messages and steps before a RUN_ERROR, so the stream stays well-formed. */
function* safeFinish(mapper: RemoteEventMapper): Generator<BaseEvent> {
  try {
    yield* mapper.finish();
  } catch {
    // nothing open
  }
}
