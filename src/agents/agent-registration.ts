import { AbstractAgent, HttpAgent } from '@ag-ui/client';
import { isRuntimeAware, type AgentLimits, type AgentRuntimeServices } from './agent-definition.js';
import { resolveAgentLimits } from './agent-limits.js';
import { streamAgentRun } from './agent-event-stream.js';
import type { AgUiRegisteredAgent } from './agent-registry.js';

/** An agent as declared, before validation: from the module options or a `@CopilotAgent()` provider. */
export interface AgentDeclaration {
  id: unknown;
  name?: string;
  description?: string;
  limits?: AgentLimits;
  /** A prototype cloned for every run, or a factory of fresh instances. */
  agent: unknown;
  /** Where it was declared, quoted in boot errors (`module options`, `@CopilotAgent() ResearchAgent`). */
  origin: string;
}

export interface RegistrationContext {
  defaults?: AgentLimits;
  /** Handed to every instance that implements RuntimeAwareAgent. */
  services?: AgentRuntimeServices;
}

/**
 * Validates a declaration and turns it into a RegisteredAgent whose `create()` gives a fresh,
 * runtime-aware instance per run. Throws a message naming the agent and where it was declared,
 * so a misconfigured agent stops the boot instead of failing its first request.
 */
export function registerAgent(declaration: AgentDeclaration, context: RegistrationContext = {}): AgUiRegisteredAgent {
  const id = checkedId(declaration);
  const { origin } = declaration;
  const source = declaration.agent;

  let produce: () => unknown;
  let className: string;
  if (isAgentLike(source)) {
    produce = () => cloneOf(source);
    className = classNameOf(source);
  } else if (typeof source === 'function') {
    produce = source as () => unknown;
    // A factory is probed once now: one that does not return an agent fails the boot, not a request.
    const probe = callFactory(id, origin, produce);
    className = classNameOf(probe);
  } else {
    throw new Error(
      `Agent '${id}' (${origin}) is neither an AbstractAgent (@ag-ui/client) nor a function returning one.`,
    );
  }

  const registered: AgUiRegisteredAgent = {
    id,
    name: declaration.name ?? id,
    description: declaration.description ?? '',
    className,
    limits: resolveAgentLimits(id, declaration.limits, context.defaults),
    builtIn: false,
    create(run) {
      const instance = callFactory(id, origin, produce);
      if (isRuntimeAware(instance)) instance.attachRuntime(run ? { ...context.services, run } : (context.services ?? {}));
      return instance;
    },
    // An AG-UI agent checks its own input: there is nothing to refuse before it runs.
    async prepare(call) {
      return {
        events: (signal, state) =>
          streamAgentRun(registered, { ...call.input, state }, signal, {
            forwardedHeaders: call.forwardedHeaders,
            run: { identity: call.identity, requestHeaders: call.requestHeaders ?? {}, properties: call.properties },
            log: call.log,
          }),
      };
    },
  };
  return registered;
}

function checkedId(declaration: AgentDeclaration): string {
  const { id, origin } = declaration;
  if (typeof id !== 'string' || id.trim() === '') {
    throw new Error(`An agent declared in ${origin} has no id: every agent needs a non-empty, unique id.`);
  }
  // The id is a URL segment of the v2 routes (`/agent/:id/run`) and is compared verbatim.
  if (id !== id.trim() || id.includes('/')) {
    throw new Error(`Invalid agent id '${id}' (${origin}): no leading or trailing spaces and no "/".`);
  }
  return id;
}

function callFactory(id: string, origin: string, produce: () => unknown): AbstractAgent {
  const instance = produce();
  if (!isAgentLike(instance)) {
    throw new Error(
      `Agent '${id}' (${origin}): the factory returned ${describe(instance)}, not an AbstractAgent (@ag-ui/client).`,
    );
  }
  return instance;
}

/**
 * Duck-typed rather than `instanceof`: integrations (e.g. @ag-ui/langgraph) may bring their own
 * copy of @ag-ui/client, whose AbstractAgent is a different class.
 */
export function isAgentLike(value: unknown): value is AbstractAgent {
  if (value instanceof AbstractAgent) return true;
  const candidate = value as Partial<AbstractAgent> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.run === 'function' && typeof candidate.clone === 'function';
}

/**
 * `AbstractAgent.clone()` copies the fields AbstractAgent (and HttpAgent) know about. A subclass's
 * own fields, such as services a Nest provider had injected, would be missing from the clone, so
 * those the clone lacks are carried over by reference. A subclass that keeps per-run state in its
 * own fields should override clone() to copy it properly.
 */
function cloneOf(prototype: AbstractAgent): AbstractAgent {
  const copy = prototype.clone() as AbstractAgent;
  for (const key of Object.keys(prototype)) {
    const value = (prototype as unknown as Record<string, unknown>)[key];
    if (value !== undefined && !Object.hasOwn(copy, key)) (copy as unknown as Record<string, unknown>)[key] = value;
  }
  return copy;
}

/**
 * The class name v2 `info` shows. @ag-ui/client ships minified, so its own classes are named
 * `qe` and the like at run time: those are named after the class they are.
 */
function classNameOf(agent: AbstractAgent): string {
  const type = agent.constructor;
  if (type === HttpAgent) return 'HttpAgent';
  if (type === AbstractAgent) return 'AbstractAgent';
  return type.name || 'AbstractAgent';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return `a ${typeof value}`;
}
