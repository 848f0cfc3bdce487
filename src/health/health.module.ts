import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { PostgresDatabaseProbe } from '../persistence/database-probe.js';
import { DatabaseProbe } from '../ports/database-probe.js';
import { DrainGate } from './drain-gate.policy.js';
import { DRAIN_OPTIONS, type DrainOptions, GracefulDrain } from './graceful-drain.js';
import { HealthController } from './health.controller.js';
import { RedisProbe } from './redis-probe.js';
import { ShutdownState } from './shutdown-state.js';

/** Default of `health.drainMs` (SHUTDOWN_DRAIN_MS). */
export const DEFAULT_DRAIN_MS = 20_000;

/**
 * Health and graceful shutdown: `GET /health/live`, `GET /health/ready` (Terminus), the drain on
 * shutdown (GracefulDrain) and the gate refusing new runs meanwhile (DrainGate, a run policy
 * stage). CopilotRuntimeModule imports it FIRST: Nest calls `onModuleDestroy` in import order
 * among modules of one depth, and the drain must run before any other module starts closing.
 */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [
    ShutdownState,
    DrainGate,
    GracefulDrain,
    { provide: DatabaseProbe, useClass: PostgresDatabaseProbe },
    {
      provide: DRAIN_OPTIONS,
      inject: [RUNTIME_OPTIONS],
      useFactory: (options: CopilotRuntimeOptions): DrainOptions => ({
        deadlineMs: nonNegative('health.drainMs', options.health?.drainMs ?? DEFAULT_DRAIN_MS),
      }),
    },
    {
      provide: RedisProbe,
      inject: [RUNTIME_OPTIONS],
      useFactory: (options: CopilotRuntimeOptions) => (options.health?.redisUrl ? new RedisProbe(options.health.redisUrl) : null),
    },
  ],
  exports: [ShutdownState, DatabaseProbe],
})
export class HealthModule {}

function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a number of milliseconds >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}
