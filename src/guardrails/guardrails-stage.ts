import type { Message } from '@ag-ui/core';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CopilotRunPolicy, RUN_POLICY_ORDER, RunDenial, type RunPolicyStage, type RunScope } from '../runtime/run-policy.js';
import { GUARDRAILS_DEFAULTS } from './guardrails-options.js';
import { deniedMessage, GuardrailsUnavailable, type GuardrailsRequest, type GuardrailsStrategy, type GuardrailsVerdict } from './guardrails-strategy.js';
import { GUARDRAILS_STRATEGY } from './guardrails-strategy.provider.js';

const TIMED_OUT = Symbol('timed out');

/**
 * The guardrails check as a run policy stage (RUN_POLICY_ORDER.guardrails, after middleware):
 * before any model or agent is called, the user's last message is judged by the configured
 * strategy. Denied: a RunDenial (the run is recorded with the denial as its answer, no token is
 * spent). The strategy failing or exceeding the timeout: refused with GUARDRAILS_UNAVAILABLE
 * (fail closed), or let through when `onFailure: 'open'`. A request whose last message is not a
 * user's text (a tool result follow-up) is not checked: it carries nothing new from the user.
 */
@Injectable()
@CopilotRunPolicy()
export class GuardrailsStage implements RunPolicyStage {
  readonly name = 'guardrails';
  readonly order = RUN_POLICY_ORDER.guardrails;
  private readonly logger = new Logger('Guardrails');
  private readonly timeoutMs: number;
  private readonly failOpen: boolean;

  constructor(
    @Inject(GUARDRAILS_STRATEGY) private readonly strategy: GuardrailsStrategy | null,
    @Inject(RUNTIME_OPTIONS) options: CopilotRuntimeOptions,
  ) {
    this.timeoutMs = options.guardrails?.timeoutMs ?? GUARDRAILS_DEFAULTS.timeoutMs;
    this.failOpen = options.guardrails?.onFailure === 'open';
  }

  async beforeRun(run: RunScope): Promise<void> {
    const strategy = this.strategy;
    if (!strategy) return;
    strategy.admit?.({ cloud: run.cloud ?? null, headers: run.ctx.headers });
    const last = userText(run.input.messages.at(-1));
    if (last === null) return;

    const controller = new AbortController();
    const onClientGone = () => controller.abort(run.ctx.signal.reason);
    run.ctx.signal.addEventListener('abort', onClientGone, { once: true });
    const request: GuardrailsRequest = {
      input: last,
      messages: earlierTexts(run.input.messages.slice(0, -1)),
      cloud: run.cloud ?? null,
      headers: run.ctx.headers,
      signal: controller.signal,
    };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let verdict: GuardrailsVerdict | null;
    try {
      const pending = strategy.check(request);
      pending.catch(() => undefined); // a late failure after the timeout is already answered
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
      });
      const settled = await Promise.race([pending, timeout]);
      if (settled === TIMED_OUT) {
        controller.abort(new Error('guardrails timeout'));
        throw new GuardrailsUnavailable(`The guardrails check (${strategy.name}) did not answer within ${this.timeoutMs} ms.`);
      }
      verdict = settled;
    } catch (error) {
      if (error instanceof CopilotRuntimeError) throw error;
      return this.failed(strategy, run, error);
    } finally {
      clearTimeout(timer);
      run.ctx.signal.removeEventListener('abort', onClientGone);
    }
    this.logger.debug(`run ${run.runId}: ${verdict?.status ?? 'not checked'} by ${strategy.name} in ${(performance.now() - started).toFixed(1)} ms`, run.ctx.log);
    if (verdict?.status === 'denied') {
      throw new RunDenial('GUARDRAILS_VALIDATION_FAILED', verdict.reason, deniedMessage(verdict.reason));
    }
  }

  private failed(strategy: GuardrailsStrategy, run: RunScope, error: unknown): void {
    const errorId = newId('err');
    const why = error instanceof GuardrailsUnavailable ? error.message : `The guardrails check (${strategy.name}) failed: ${describe(error)}.`;
    if (this.failOpen) {
      this.logger.warn(`[${errorId}] ${why} Run ${run.runId} goes ahead unchecked (guardrails fail open).`, run.ctx.log);
      return;
    }
    this.logger.error(`[${errorId}] ${why} Run ${run.runId} was refused (guardrails fail closed).`, run.ctx.log);
    throw new CopilotRuntimeError('GUARDRAILS_UNAVAILABLE', `${why} The message was not sent; try again later (error ${errorId}).`, {
      cause: error,
      errorId,
    });
  }
}

/** The text of a user message (its text parts joined), or null for anything else. */
function userText(message: Message | undefined): string | null {
  if (!message || message.role !== 'user') return null;
  const content = (message as { content?: unknown }).content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const text = content
    .filter((part): part is { type: 'text'; text: string } => part?.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
  return text === '' ? null : text;
}

/** Upstream's `messages`: the earlier user and assistant texts. */
function earlierTexts(messages: Message[]): GuardrailsRequest['messages'] {
  return messages.flatMap((message) => {
    if (message.role !== 'user' && message.role !== 'assistant') return [];
    const content = message.role === 'user' ? userText(message) : (message as { content?: unknown }).content;
    return typeof content === 'string' && content !== '' ? [{ role: message.role, content }] : [];
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
