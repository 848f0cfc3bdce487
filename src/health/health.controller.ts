import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DatabaseProbe } from '../ports/database-probe.js';
import { RedisProbe } from './redis-probe.js';
import { ShutdownState } from './shutdown-state.js';

/** How long one dependency may take to answer a readiness probe. */
const PROBE_TIMEOUT_MS = 2_000;

/**
 * `GET /health/live`: the process serves HTTP (no dependency is asked: a database outage must
 * not get every replica restarted). `GET /health/ready`: this instance should get traffic, i.e.
 * it is not shutting down, the database answers, every migration is applied and Redis answers
 * (when configured). 200 `{status: "ok", info}` or 503 `{status: "error", error}` (Terminus's shape).
 * Neither path is under the runtime's base path, so no authentication applies.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly shutdown: ShutdownState,
    private readonly database: DatabaseProbe,
    @Optional() @Inject(RedisProbe) private readonly redis?: RedisProbe,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) })]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: Array<() => PromiseLike<HealthIndicatorResult>> = [
      async () => this.shutdownIndicator(),
      () => this.indicators.check('database').attempt(() => this.database.ping()).withTimeout(PROBE_TIMEOUT_MS),
      () =>
        this.indicators
          .check('migrations')
          .attempt(async () => {
            const pending = await this.database.pendingMigrations();
            if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
          })
          .withTimeout(PROBE_TIMEOUT_MS),
    ];
    const redis = this.redis;
    if (redis) checks.push(() => this.indicators.check('redis').attempt(() => redis.ping()).withTimeout(PROBE_TIMEOUT_MS));
    return this.health.check(checks);
  }

  private shutdownIndicator(): HealthIndicatorResult {
    const session = this.indicators.check('shutdown');
    return this.shutdown.draining
      ? session.down({ message: 'draining: this instance is shutting down' })
      : session.up();
  }
}
