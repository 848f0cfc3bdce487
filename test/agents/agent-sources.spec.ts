import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { HttpAgent } from '@ag-ui/client';
import { Global, Injectable, Logger, Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { AgentRegistry, type RegisteredAgent } from '../../src/agents/agent-registry.js';
import { CopilotAgentSource, type AgentLookup, type AgentSource } from '../../src/agents/agent-source.js';
import { AgentsModule } from '../../src/agents/agents.module.js';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../../src/config/runtime-options.js';

/**
 * The AgentRegistry's seam for agents discovered while serving (remote endpoints): sources are
 * asked on every lookup, registered agents win an id clash (logged once), a failing source costs
 * only its own agents, and `list/get/require` keep knowing the registered agents alone.
 */
const sourceAgent = (id: string): RegisteredAgent => ({
  id,
  name: id,
  description: `${id} from a source`,
  className: 'SourceAgent',
  limits: { firstEventTimeoutMs: 0, idleTimeoutMs: 0, totalTimeoutMs: 0 },
  builtIn: false,
  prepare: async () => ({ events: async function* () {} }),
});

@Injectable()
@CopilotAgentSource()
class DiscoveredAgents implements AgentSource {
  readonly name = 'discovered';
  served: RegisteredAgent[] = [sourceAgent('remote_one'), sourceAgent('echo')];
  lookups: AgentLookup[] = [];
  async agents(lookup: AgentLookup): Promise<RegisteredAgent[]> {
    this.lookups.push(lookup);
    return this.served;
  }
}

@Injectable()
@CopilotAgentSource()
class BrokenSource implements AgentSource {
  readonly name = 'broken';
  async agents(): Promise<RegisteredAgent[]> {
    throw new Error('endpoint exploded');
  }
}

@Module({ providers: [DiscoveredAgents, BrokenSource] })
class SourcesModule {}

@Global()
@Module({})
class TestOptionsModule {
  static with(options: CopilotRuntimeOptions): DynamicModule {
    return { module: TestOptionsModule, providers: [{ provide: RUNTIME_OPTIONS, useValue: options }], exports: [RUNTIME_OPTIONS] };
  }
}

const booted: TestingModule[] = [];
async function boot(): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [TestOptionsModule.with({ agents: [{ id: 'echo', agent: new HttpAgent({ url: 'http://127.0.0.1:9/echo' }) }] }), AgentsModule, SourcesModule],
  }).compile();
  booted.push(moduleRef);
  await moduleRef.init();
  return moduleRef;
}

beforeAll(() => Logger.overrideLogger(['error']));
afterEach(async () => {
  await Promise.all(booted.splice(0).map((ref) => ref.close().catch(() => undefined)));
});

describe('AgentRegistry with agent sources', () => {
  it('listAvailable: registered agents first, then the sources\' agents; a registered id wins (warned once)', async () => {
    const moduleRef = await boot();
    const registry = moduleRef.get(AgentRegistry);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const lookup = { identity: { id: 'u1', anonymous: false }, properties: { tenant: 'acme' } };
      const first = await registry.listAvailable(lookup);
      await registry.listAvailable(lookup);
      expect(first.map((agent) => [agent.id, agent.className])).toEqual([
        ['echo', 'HttpAgent'],
        ['remote_one', 'SourceAgent'],
      ]);
      expect(moduleRef.get(DiscoveredAgents).lookups[0]).toEqual(lookup);
      const messages = warn.mock.calls.map(([message]) => String(message));
      expect(messages.filter((m) => m.includes("Agent 'echo' of discovered is not served"))).toHaveLength(1);
      expect(messages.filter((m) => m.includes('Agent source "broken" failed; its agents are not served: endpoint exploded'))).toHaveLength(2);
    } finally {
      warn.mockRestore();
    }
  });

  it('find and resolve reach source agents; resolve of an unknown id names every agent there is', async () => {
    const registry = (await boot()).get(AgentRegistry);
    const lookup = { properties: {} };
    expect((await registry.find('remote_one', lookup))?.description).toBe('remote_one from a source');
    expect((await registry.resolve('echo', lookup)).className).toBe('HttpAgent');
    await expect(registry.resolve('nope', lookup)).rejects.toThrow("Agent 'nope' was not found. Available agents: echo, remote_one.");
    // The synchronous lookups know the registered agents only, as before.
    expect(registry.get('remote_one')).toBeUndefined();
    expect(registry.list().map((agent) => agent.id)).toEqual(['echo']);
  });
});
