import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RuntimeApp, startRuntimeApp } from '../support/runtime-app.js';

/** Readiness asks Redis only when one is configured, and names what is down. */
describe('GET /health/ready with Redis', () => {
  let up: RuntimeApp;
  let down: RuntimeApp;

  beforeAll(async () => {
    [up, down] = await Promise.all([
      startRuntimeApp({ options: { health: { redisUrl: 'redis://127.0.0.1:6379' }, auth: { jwt: { secret: 'health-is-outside-auth' } } } }),
      startRuntimeApp({ options: { health: { redisUrl: 'redis://127.0.0.1:1' } } }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([up?.close(), down?.close()]);
  });

  const probe = async (app: RuntimeApp, path: string) => {
    const reply = await fetch(`${new URL(app.url).origin}${path}`);
    return { status: reply.status, body: (await reply.json()) as Record<string, any> };
  };

  it('is ready when the database, the migrations and Redis answer, with authentication on', async () => {
    const { status, body } = await probe(up, '/health/ready');
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(Object.keys(body.info).sort()).toEqual(['database', 'migrations', 'redis', 'shutdown']);
    expect((await probe(up, '/health/live')).status).toBe(200);
  });

  it('is not ready when Redis does not answer, and says so; liveness does not care', async () => {
    const { status, body } = await probe(down, '/health/ready');
    expect(status).toBe(503);
    expect(body.error.redis.status).toBe('down');
    expect(body.info.database.status).toBe('up');
    expect((await probe(down, '/health/live')).status).toBe(200);
  });
});
