import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AbstractAgent, HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type RunAgentInput } from '@ag-ui/core';
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { MemorySaver } from '@langchain/langgraph-checkpoint';
import { Global, Injectable, Logger, Module, Scope, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Observable } from 'rxjs';
import {
  AGENT_RUNTIME_SERVICES,
  type AgentDefinition,
  type AgentRuntimeServices,
  type RuntimeAwareAgent,
} from '../../src/agents/agent-definition.js';
import { streamAgentRun } from '../../src/agents/agent-event-stream.js';
import { AgentRegistry, type AgUiRegisteredAgent } from '../../src/agents/agent-registry.js';
import { AgentsModule } from '../../src/agents/agents.module.js';
import { CopilotAgent } from '../../src/agents/copilot-agent.decorator.js';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import { InvalidEnvironmentError, parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../src/config/runtime-options.js';
import { startRuntimeApp } from '../support/runtime-app.js';

/**
 * Agent registration the Nest way: agents from the module options and `@CopilotAgent()` providers
 * of the user's own modules, validated at boot, a fresh runtime-aware instance for every run.
 */

/** An in-process agent that answers with its state, so a test sees what an instance carried. */
class PlannerAgent extends AbstractAgent implements RuntimeAwareAgent {
  services?: AgentRuntimeServices;

  attachRuntime(services: AgentRuntimeServices): void {
    this.services = services;
  }

  override run(input: RunAgentInput): never {
    return new Observable<BaseEvent>((subscriber) => {
      subscriber.next({ type: EventType.RUN_STARTED, threadId: input.threadId, runId: input.runId } as BaseEvent);
      subscriber.next({ type: EventType.RUN_FINISHED, threadId: input.threadId, runId: input.runId } as BaseEvent);
      subscriber.complete();
    }) as never;
  }
}

@Injectable()
class AgentSettings {
  readonly url = 'http://127.0.0.1:9/weather';
  readonly token = 'server-token';
}

/** A provider that IS an agent and injects a service. */
@CopilotAgent({ id: 'weather', description: 'Weather over HTTP', limits: { idleTimeoutMs: 5_000 } })
class WeatherAgent extends HttpAgent {
  constructor(readonly settings: AgentSettings) {
    super({ url: settings.url, headers: { Authorization: `Bearer ${settings.token}` } });
  }
}

/** A provider that builds its agent for every run. */
@CopilotAgent({ id: 'planner', name: 'Planner', description: 'Plans a trip' })
class PlannerAgents {
  created = 0;

  constructor(readonly settings: AgentSettings) {}

  createAgent(): PlannerAgent {
    this.created += 1;
    return new PlannerAgent({ description: `planner for ${this.settings.url}` });
  }
}

@Module({ providers: [AgentSettings, WeatherAgent, PlannerAgents] })
class UserAgentsModule {}

@Global()
@Module({})
class TestOptionsModule {
  static with(options: CopilotRuntimeOptions): DynamicModule {
    return { module: TestOptionsModule, providers: [{ provide: RUNTIME_OPTIONS, useValue: options }], exports: [RUNTIME_OPTIONS] };
  }
}

const booted: TestingModule[] = [];

async function boot(options: CopilotRuntimeOptions, imports: any[] = [], services?: AgentRuntimeServices): Promise<TestingModule> {
  const builder = Test.createTestingModule({ imports: [TestOptionsModule.with(options), AgentsModule, ...imports] });
  // AgentsModule provides the services itself (the LangGraph checkpointer): a test replaces them.
  if (services) builder.overrideProvider(AGENT_RUNTIME_SERVICES).useValue(services);
  const moduleRef = await builder.compile();
  booted.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

beforeAll(() => Logger.overrideLogger(['error']));
afterEach(async () => {
  await Promise.all(booted.splice(0).map((ref) => ref.close().catch(() => undefined)));
});

const httpPrototype = () => new HttpAgent({ url: 'http://127.0.0.1:9/echo', headers: { 'X-Echo': '1' } });

describe('registration', () => {
  it('lists the option agents first, then the decorated providers, with their effective settings', async () => {
    const moduleRef = await boot(
      {
        agents: [
          { id: 'echo', description: 'Echoes', agent: httpPrototype() },
          { id: 'scripted', agent: () => new PlannerAgent(), limits: { totalTimeoutMs: 0 } },
        ],
        agentDefaults: { limits: { firstEventTimeoutMs: 1_000 } },
      },
      [UserAgentsModule],
    );
    const agents = moduleRef.get(AgentRegistry).list();
    expect(agents.map(({ id, name, description, className }) => ({ id, name, description, className }))).toEqual([
      { id: 'echo', name: 'echo', description: 'Echoes', className: 'HttpAgent' },
      { id: 'scripted', name: 'scripted', description: '', className: 'PlannerAgent' },
      { id: 'weather', name: 'weather', description: 'Weather over HTTP', className: 'WeatherAgent' },
      { id: 'planner', name: 'Planner', description: 'Plans a trip', className: 'PlannerAgent' },
    ]);
    const limits = Object.fromEntries(agents.map((a) => [a.id, a.limits]));
    expect(limits.echo).toEqual({ firstEventTimeoutMs: 1_000, idleTimeoutMs: 120_000, totalTimeoutMs: 600_000 });
    expect(limits.scripted).toEqual({ firstEventTimeoutMs: 1_000, idleTimeoutMs: 120_000, totalTimeoutMs: 0 });
    expect(limits.weather).toEqual({ firstEventTimeoutMs: 1_000, idleTimeoutMs: 5_000, totalTimeoutMs: 600_000 });
  });

  it('without agentDefaults the built-in limits apply', async () => {
    const moduleRef = await boot({ agents: [{ id: 'echo', agent: httpPrototype() }] });
    expect(moduleRef.get(AgentRegistry).require('echo').limits).toEqual({
      firstEventTimeoutMs: 60_000,
      idleTimeoutMs: 120_000,
      totalTimeoutMs: 600_000,
    });
  });

  it('require() of an unknown agent is AGENT_NOT_FOUND naming the agents there are', async () => {
    const moduleRef = await boot({ agents: [{ id: 'echo', agent: httpPrototype() }] }, [UserAgentsModule]);
    const registry = moduleRef.get(AgentRegistry);
    expect(registry.get('nope')).toBeUndefined();
    expect(() => registry.require('nope')).toThrow(CopilotRuntimeError);
    expect(() => registry.require('nope')).toThrow("Agent 'nope' was not found. Available agents: echo, weather, planner.");
  });
});

describe('a fresh instance for every run', () => {
  it('clones a provider that is an agent, keeping what Nest injected into it', async () => {
    const moduleRef = await boot({}, [UserAgentsModule]);
    const provider = moduleRef.get(WeatherAgent);
    const weather = moduleRef.get(AgentRegistry).require('weather') as AgUiRegisteredAgent;
    const first = weather.create() as WeatherAgent;
    const second = weather.create() as WeatherAgent;
    expect(first).toBeInstanceOf(WeatherAgent);
    expect(first).not.toBe(second);
    expect(first).not.toBe(provider);
    expect(first.settings).toBe(moduleRef.get(AgentSettings));
    expect(first.url).toBe('http://127.0.0.1:9/weather');

    first.headers['X-Per-Run'] = 'mutated';
    first.setState({ mine: true });
    expect(second.headers).toEqual({ Authorization: 'Bearer server-token' });
    expect(provider.headers).toEqual({ Authorization: 'Bearer server-token' });
    expect(second.state).toEqual({});
    expect(first.abortController).not.toBe(second.abortController);
  });

  it("calls a provider's createAgent() for every run", async () => {
    const moduleRef = await boot({}, [UserAgentsModule]);
    const factory = moduleRef.get(PlannerAgents);
    const planner = moduleRef.get(AgentRegistry).require('planner') as AgUiRegisteredAgent;
    const afterBoot = factory.created;
    const a = planner.create();
    const b = planner.create();
    expect(a).not.toBe(b);
    expect(factory.created).toBe(afterBoot + 2);
    expect(a.description).toBe('planner for http://127.0.0.1:9/weather');
  });

  it('clones an option prototype: a run never mutates it', async () => {
    const prototype = httpPrototype();
    const moduleRef = await boot({ agents: [{ id: 'echo', agent: prototype }] });
    const echo = moduleRef.get(AgentRegistry).require('echo') as AgUiRegisteredAgent;
    const instance = echo.create() as HttpAgent;
    expect(instance).not.toBe(prototype);
    instance.headers['X-Forwarded'] = 'yes';
    instance.abortRun();
    expect(prototype.headers).toEqual({ 'X-Echo': '1' });
    expect(prototype.abortController.signal.aborted).toBe(false);
  });

  it('streamAgentRun runs each request on its own instance', async () => {
    const created: PlannerAgent[] = [];
    const moduleRef = await boot({
      agents: [{ id: 'scripted', agent: () => (created.push(new PlannerAgent()), created.at(-1)!) }],
    });
    const agent = moduleRef.get(AgentRegistry).require('scripted') as AgUiRegisteredAgent;
    const afterBoot = created.length;
    for (const runId of ['r1', 'r2']) {
      const input = { threadId: 't', runId, messages: [], tools: [], context: [], state: {}, forwardedProps: {} };
      const events: BaseEvent[] = [];
      for await (const event of streamAgentRun(agent, input, new AbortController().signal)) events.push(event);
      expect(events.map((e) => e.type)).toEqual([EventType.RUN_STARTED, EventType.RUN_FINISHED]);
    }
    expect(created.length).toBe(afterBoot + 2);
    expect(new Set(created).size).toBe(created.length);
  });
});

describe('runtime services', () => {
  it('are attached to every instance that implements RuntimeAwareAgent', async () => {
    const services: AgentRuntimeServices = { checkpointer: new MemorySaver() };
    const moduleRef = await boot({ agents: [{ id: 'scripted', agent: () => new PlannerAgent() }] }, [UserAgentsModule], services);
    const registry = moduleRef.get(AgentRegistry);
    for (const id of ['scripted', 'planner']) {
      const instance = (registry.require(id) as AgUiRegisteredAgent).create() as PlannerAgent;
      expect(instance.services).toBe(services);
    }
  });

  it('are what AgentsModule provides by default when there is no database: no checkpointer', async () => {
    const moduleRef = await boot({}, [UserAgentsModule]);
    const instance = (moduleRef.get(AgentRegistry).require('planner') as AgUiRegisteredAgent).create() as PlannerAgent;
    expect(instance.services).toEqual({});
  });
});

describe('invalid declarations stop the boot', () => {
  const cases: Array<[string, CopilotRuntimeOptions, any[], string | RegExp]> = [
    [
      'a duplicate id (options and a decorated provider)',
      { agents: [{ id: 'weather', agent: httpPrototype() }] },
      [UserAgentsModule],
      "Duplicate agent id 'weather': declared in module options (agents[0]) and in @CopilotAgent() WeatherAgent. Agent ids must be unique.",
    ],
    [
      'a duplicate id within the options',
      { agents: [{ id: 'echo', agent: httpPrototype() }, { id: 'echo', agent: httpPrototype() }] },
      [],
      "Duplicate agent id 'echo': declared in module options (agents[0]) and in module options (agents[1]).",
    ],
    [
      'an empty id',
      { agents: [{ id: '', agent: httpPrototype() }] },
      [],
      'An agent declared in module options (agents[0]) has no id: every agent needs a non-empty, unique id.',
    ],
    [
      'an id with a slash',
      { agents: [{ id: 'a/b', agent: httpPrototype() }] },
      [],
      `Invalid agent id 'a/b' (module options (agents[0])): no leading or trailing spaces and no "/".`,
    ],
    [
      'a factory that returns no agent',
      { agents: [{ id: 'bogus', agent: (() => ({ hello: 'world' })) as unknown as AgentDefinition['agent'] }] },
      [],
      "Agent 'bogus' (module options (agents[0])): the factory returned an instance of Object, not an AbstractAgent (@ag-ui/client).",
    ],
    [
      'a negative limit',
      { agents: [{ id: 'echo', agent: httpPrototype(), limits: { idleTimeoutMs: -5 } }] },
      [],
      "Invalid limit idleTimeoutMs of agent 'echo': -5 (use a whole number of milliseconds, 0 disables it).",
    ],
    [
      'an invalid default limit',
      { agents: [{ id: 'echo', agent: httpPrototype() }], agentDefaults: { limits: { totalTimeoutMs: 1.5 } } },
      [],
      'Invalid limit totalTimeoutMs in agentDefaults: 1.5',
    ],
  ];

  it.each(cases)('%s', async (_name, options, imports, message) => {
    await expect(boot(options, imports)).rejects.toThrow(message);
  });

  it('a decorated provider that is neither an agent nor a factory', async () => {
    @CopilotAgent({ id: 'confused' })
    class NotAnAgent {}
    @Module({ providers: [NotAnAgent] })
    class Confused {}
    await expect(boot({}, [Confused])).rejects.toThrow(
      "@CopilotAgent() NotAnAgent (agent 'confused') must extend AbstractAgent (@ag-ui/client) or have a method createAgent(): AbstractAgent.",
    );
  });

  it('a decorated provider without an id', async () => {
    @CopilotAgent({ id: '  ' })
    class Nameless extends HttpAgent {
      constructor() {
        super({ url: 'http://127.0.0.1:9/x' });
      }
    }
    @Module({ providers: [Nameless] })
    class Anonymous {}
    await expect(boot({}, [Anonymous])).rejects.toThrow('An agent declared in @CopilotAgent() Nameless has no id');
  });

  it('a request-scoped decorated provider', async () => {
    @CopilotAgent({ id: 'scoped' })
    class Scoped {
      createAgent() {
        return new PlannerAgent();
      }
    }
    @Module({ providers: [{ provide: Scoped, useClass: Scoped, scope: Scope.REQUEST }] })
    class ScopedModule {}
    await expect(boot({}, [ScopedModule])).rejects.toThrow(
      "@CopilotAgent() Scoped (agent 'scoped') must be a singleton provider (no request or transient scope)",
    );
  });
});

describe('configuration from the environment', () => {
  it('has the documented defaults, reads the three limits and maxSteps, and treats 0 as off', () => {
    expect(optionsFromEnvironment(parseEnvironment({})).agentDefaults).toEqual({
      maxSteps: 10,
      limits: { firstEventTimeoutMs: 60_000, idleTimeoutMs: 120_000, totalTimeoutMs: 600_000 },
    });
    const env = parseEnvironment({
      AGENT_FIRST_EVENT_TIMEOUT_MS: '5000',
      AGENT_IDLE_TIMEOUT_MS: '0',
      AGENT_TOTAL_TIMEOUT_MS: '',
      AGENT_MAX_STEPS: '3',
    });
    expect(optionsFromEnvironment(env).agentDefaults).toEqual({
      maxSteps: 3,
      limits: { firstEventTimeoutMs: 5_000, idleTimeoutMs: 0, totalTimeoutMs: 600_000 },
    });
  });

  it('refuses values that are not whole milliseconds, naming the variable', () => {
    expect(() => parseEnvironment({ AGENT_IDLE_TIMEOUT_MS: 'soon' })).toThrow(InvalidEnvironmentError);
    expect(() => parseEnvironment({ AGENT_TOTAL_TIMEOUT_MS: '-1' })).toThrow(/AGENT_TOTAL_TIMEOUT_MS/);
    expect(() => parseEnvironment({ AGENT_MAX_STEPS: '0' })).toThrow(/AGENT_MAX_STEPS/);
  });
});

describe('inside the whole runtime', () => {
  let rt: Awaited<ReturnType<typeof startRuntimeApp>> | undefined;
  afterAll(async () => {
    await rt?.close();
  });

  it("finds decorated providers of the user's own module next to CopilotRuntimeModule", async () => {
    rt = await startRuntimeApp({
      options: { agents: [{ id: 'echo', description: 'Echoes', agent: httpPrototype() }] },
      imports: [UserAgentsModule],
    });
    const client = new CopilotRuntimeClient({ url: rt.url });
    const answer = await client.availableAgents().toPromise();
    expect(answer.data?.availableAgents.agents.map((a: { id: string; name: string }) => [a.id, a.name])).toEqual([
      ['echo', 'echo'],
      ['weather', 'weather'],
      ['planner', 'Planner'],
    ]);
  });
});
