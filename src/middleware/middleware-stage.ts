import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { CopilotRuntimeError } from '../common/errors.js';
import { newId } from '../common/ids.js';
import { markedProviders } from '../common/marked-providers.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { CopilotRunPolicy, RUN_POLICY_ORDER, type RunEnd, type RunPolicyStage, type RunScope } from '../runtime/run-policy.js';
import {
  COPILOT_MIDDLEWARE_METADATA,
  type CopilotRequestMiddleware,
  type MiddlewareOutcome,
  type MiddlewareRequest,
} from './copilot-middleware.js';
import { fromUpstreamV1, fromUpstreamV2, rejectionFromResponse } from './upstream-middleware.js';
import { runLogContext } from '../observability/logging/log-context.js';

export const DEFAULT_MIDDLEWARE_TIMEOUT_MS = 10_000;

type Hook = 'beforeRequest' | 'afterRequest' | 'onStop' | 'onError';

const TIMED_OUT = Symbol('timed out');

/**
 * Every request middleware, as one run policy stage (RUN_POLICY_ORDER.middleware). Order, for
 * before and after hooks alike: the module options first (`middleware`, then
 * `beforeRequestMiddleware`/`afterRequestMiddleware`, then `middlewares` in list order), then the
 * `@CopilotMiddleware()` providers in discovery order (module import order, then provider order).
 */
@Injectable()
@CopilotRunPolicy()
export class MiddlewareStage implements RunPolicyStage, OnModuleInit {
  readonly name = 'middleware';
  readonly order = RUN_POLICY_ORDER.middleware;
  private readonly logger = new Logger('Middleware');
  private readonly timeoutMs: number;
  private chain: CopilotRequestMiddleware[] = [];
  /** Runs whose after hooks ran (afterRun comes first): onRunError then only means "could not start". */
  private readonly ended = new WeakSet<RunScope>();

  constructor(
    @Inject(RUNTIME_OPTIONS) private readonly options: CopilotRuntimeOptions,
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {
    this.timeoutMs = options.middlewareTimeoutMs ?? DEFAULT_MIDDLEWARE_TIMEOUT_MS;
  }

  onModuleInit(): void {
    const chain: CopilotRequestMiddleware[] = [];
    const v1 = this.options.middleware;
    if (v1 && (v1.onBeforeRequest || v1.onAfterRequest || v1.onStopGeneration)) chain.push(fromUpstreamV1(v1));
    if (this.options.beforeRequestMiddleware || this.options.afterRequestMiddleware) {
      chain.push(fromUpstreamV2(this.options.beforeRequestMiddleware, this.options.afterRequestMiddleware));
    }
    chain.push(...(this.options.middlewares ?? []));
    for (const { instance, type } of markedProviders<CopilotRequestMiddleware>(this.discovery, this.reflector, COPILOT_MIDDLEWARE_METADATA)) {
      if (!instance || typeof instance !== 'object') throw new Error(`@CopilotMiddleware() ${type.name} must be a provider with an instance.`);
      if (!chain.includes(instance)) chain.push(instance);
    }
    for (const middleware of chain) {
      const hooks = (['beforeRequest', 'afterRequest', 'onStop', 'onError'] as const).filter((hook) => typeof middleware[hook] === 'function');
      if (hooks.length === 0) throw new Error(`Middleware ${nameOf(middleware)} has none of beforeRequest, afterRequest, onStop, onError.`);
    }
    this.chain = chain;
    if (chain.length > 0) this.logger.log(`Middleware, in order: ${chain.map(nameOf).join(', ')}`);
  }

  /** Each before hook in order, awaited with the timeout; the first refusal refuses the request. */
  async beforeRun(run: RunScope): Promise<void> {
    for (const middleware of this.chain) {
      if (!middleware.beforeRequest) continue;
      const controller = new AbortController();
      const request: MiddlewareRequest = { ...requestOf(run), signal: controller.signal };
      // The client going away ends the wait too: nobody is left to answer.
      const onClientGone = () => controller.abort(run.ctx.signal.reason);
      run.ctx.signal.addEventListener('abort', onClientGone, { once: true });
      const outcome = await this.call(middleware, 'beforeRequest', () => middleware.beforeRequest!(request), controller).finally(() =>
        run.ctx.signal.removeEventListener('abort', onClientGone),
      );
      if (outcome.failed) throw await this.refusal(middleware, run, outcome.error);
      this.adopt(middleware, run, request);
    }
  }

  afterRun(run: RunScope, end: RunEnd): Promise<void> {
    this.ended.add(run);
    return this.after(run, end);
  }

  /** Only a run that could not start after the before hooks let it through (afterRun covers the rest). */
  onRunError(run: RunScope, error: { code: string; message: string }): Promise<void> | void {
    if (this.ended.has(run)) return;
    const now = new Date();
    return this.after(run, { status: 'failed', stopReason: null, error, outputMessages: [], usage: null, startedAt: now, finishedAt: now });
  }

  /**
   * After, stop and error hooks, per middleware in order: `afterRequest`, then `onStop` or
   * `onError`. Started on a later turn of the event loop, so the stream's end never waits for
   * them; each is bounded by the timeout; nothing they throw escapes.
   */
  private async after(run: RunScope, end: RunEnd): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    for (const middleware of this.chain) {
      const hooks: Hook[] = ['afterRequest'];
      if (end.status === 'stopped') hooks.push('onStop');
      if (end.status === 'failed') hooks.push('onError');
      for (const hook of hooks) {
        const fn = middleware[hook] as ((outcome: MiddlewareOutcome) => void | Promise<void>) | undefined;
        if (!fn) continue;
        const controller = new AbortController();
        const outcome = this.outcome(run, end, controller.signal);
        const result = await this.call(middleware, hook, () => fn.call(middleware, outcome), controller);
        if (result.failed) this.report(middleware, hook, run, result.error);
      }
    }
  }

  /** Calls a hook, bounded by the timeout; never rejects. A late rejection is still caught. */
  private async call(
    middleware: CopilotRequestMiddleware,
    hook: Hook,
    invoke: () => unknown,
    controller: AbortController,
  ): Promise<{ failed: false } | { failed: true; error: unknown }> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = Promise.resolve().then(invoke);
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), this.timeoutMs);
      });
      const settled = await Promise.race([pending, timeout]);
      if (settled === TIMED_OUT) {
        controller.abort(new Error(`${hook} timed out`));
        pending.catch((late) => this.logger.warn(`${nameOf(middleware)} ${hook} failed after its timeout: ${describe(late)}`));
        return { failed: true, error: new HookTimeout(this.timeoutMs) };
      }
      return { failed: false };
    } catch (error) {
      return { failed: true, error };
    } finally {
      clearTimeout(timer);
    }
  }

  /** What a failed before hook becomes: its own refusal, or MIDDLEWARE_FAILED with an errorId. */
  private async refusal(middleware: CopilotRequestMiddleware, run: RunScope, error: unknown): Promise<CopilotRuntimeError> {
    if (error instanceof Response) return rejectionFromResponse(error);
    if (error instanceof CopilotRuntimeError) return error;
    const errorId = newId('err');
    const what = error instanceof HookTimeout ? `did not answer within ${error.ms} ms` : `failed: ${describe(error)}`;
    this.logger.error(
      `[${errorId}] ${nameOf(middleware)} beforeRequest ${what} (run ${run.runId}, thread ${run.threadId}); the request was refused`,
      error instanceof Error && !(error instanceof HookTimeout) ? error.stack : undefined,
      runLogContext(run),
    );
    return new CopilotRuntimeError(
      'MIDDLEWARE_FAILED',
      `The request was refused: middleware ${nameOf(middleware)} ${error instanceof HookTimeout ? `did not answer within ${error.ms} ms` : 'failed'}. Quote ${errorId} to the operator.`,
      { cause: error, errorId },
    );
  }

  /** Takes over what a before hook may change, assigned or changed in place; anything else is a bug. */
  private adopt(middleware: CopilotRequestMiddleware, run: RunScope, request: MiddlewareRequest): void {
    const { properties, forwardedHeaders, context } = request;
    const broken =
      !isPlainObject(properties) ? 'properties must be an object'
      : !isPlainObject(forwardedHeaders) || Object.values(forwardedHeaders).some((v) => typeof v !== 'string') ? 'forwardedHeaders must map names to strings'
      : !Array.isArray(context) || context.some((item) => typeof item?.description !== 'string' || typeof item?.value !== 'string')
        ? 'context must be a list of {description, value} strings'
        : null;
    if (broken) {
      const errorId = newId('err');
      this.logger.error(`[${errorId}] ${nameOf(middleware)} beforeRequest left the request broken: ${broken}`, runLogContext(run));
      throw new CopilotRuntimeError('MIDDLEWARE_FAILED', `The request was refused: middleware ${nameOf(middleware)} set invalid values (${broken}). Quote ${errorId} to the operator.`, { errorId });
    }
    run.properties = properties;
    run.forwardedHeaders = forwardedHeaders;
    run.context = context;
  }

  private outcome(run: RunScope, end: RunEnd, signal: AbortSignal): MiddlewareOutcome {
    return {
      ...requestOf(run),
      status: end.status,
      stopReason: end.stopReason ?? null,
      error: end.error,
      outputMessages: end.outputMessages,
      usage: end.usage,
      startedAt: end.startedAt,
      finishedAt: end.finishedAt,
      durationMs: end.finishedAt.getTime() - end.startedAt.getTime(),
      signal,
    };
  }

  private report(middleware: CopilotRequestMiddleware, hook: Hook, run: RunScope, error: unknown): void {
    const errorId = newId('err');
    const what = error instanceof HookTimeout ? `did not finish within ${error.ms} ms` : `failed: ${describe(error)}`;
    this.logger.error(
      `[${errorId}] ${nameOf(middleware)} ${hook} ${what} (run ${run.runId}, thread ${run.threadId}); ignored`,
      error instanceof Error && !(error instanceof HookTimeout) ? error.stack : undefined,
      runLogContext(run),
    );
  }
}

class HookTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

function nameOf(middleware: CopilotRequestMiddleware): string {
  return `"${middleware.name ?? middleware.constructor?.name ?? 'middleware'}"`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What every hook is told of the request (before hooks may change properties, headers and context). */
function requestOf(run: RunScope): Omit<MiddlewareRequest, 'signal'> {
  return {
    protocol: run.protocol,
    requestId: run.ctx.requestId,
    identity: run.ctx.identity,
    agentId: run.agentId,
    threadId: run.threadId,
    runId: run.runId,
    inputMessages: run.input.messages,
    url: run.url,
    headers: run.ctx.headers,
    properties: run.properties,
    forwardedHeaders: run.forwardedHeaders,
    context: run.context,
  };
}
