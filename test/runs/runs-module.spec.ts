import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { AGENT_RUNNER } from '../../src/runs/agent-runner.js';
import { RunCore } from '../../src/runs/run-core.js';
import { RunsModule } from '../../src/runs/runs.module.js';
import { DEFAULT_RUNS_OPTIONS, resolveRunsOptions, RUNTIME_INSTANCE_ID } from '../../src/runs/runs-options.js';
import { collect, runRequest } from './run-fakes.js';

describe('runs options', () => {
  it('defaults to the Postgres runner, policy fail, 30 s locks and outage limit', () => {
    expect(resolveRunsOptions()).toEqual(DEFAULT_RUNS_OPTIONS);
    expect(DEFAULT_RUNS_OPTIONS).toMatchObject({
      runner: 'postgres',
      busyThreadPolicy: 'fail',
      lockTtlMs: 30_000,
      maxOutageMs: 30_000,
      memory: { maxThreads: 1_000, maxRunsPerThread: 50, maxBytes: 64 * 1024 * 1024 },
    });
  });

  it('refuses a bad configuration at boot with a clear message', () => {
    expect(() => resolveRunsOptions({ runner: 'redis' as never })).toThrow("runs.runner must be 'postgres' or 'memory'");
    expect(() => resolveRunsOptions({ busyThreadPolicy: 'wait' as never })).toThrow('runs.busyThreadPolicy');
    expect(() => resolveRunsOptions({ lockTtlMs: -1 })).toThrow('runs.lockTtlMs must be a positive number');
    expect(() => resolveRunsOptions({ memory: { maxBytes: 0 } })).toThrow('runs.memory.maxBytes');
  });
});

describe('RunsModule', () => {
  it('provides the in-memory runner without any database when configured so', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RunsModule.forRoot({ runner: 'memory', memory: { maxThreads: 5 } })],
    }).compile();
    await moduleRef.init();
    const runner = moduleRef.get(AGENT_RUNNER);
    expect(runner).toBeInstanceOf(RunCore);
    expect(moduleRef.get(RUNTIME_INSTANCE_ID)).toMatch(/^.+-\d+-[0-9a-f]{8}$/);
    const events = await collect((await runner.run(runRequest('t', 'r'))).events);
    expect(events.at(-1)!.event.type).toBe('RUN_FINISHED');
    await moduleRef.close();
  });

  it('says what is missing when the Postgres runner has no PersistenceModule', async () => {
    await expect(
      Test.createTestingModule({ imports: [RunsModule.forRoot({ runner: 'postgres' })] }).compile(),
    ).rejects.toThrow("runs.runner 'postgres' needs the run stores of PersistenceModule");
  });
});
