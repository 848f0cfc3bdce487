/**
 * Log fields travel explicitly (RequestContext.log), never through AsyncLocalStorage: on Node 20 an
 * enabled AsyncLocalStorage puts promise hooks on every promise of the process (12–28% of the
 * server's CPU per streamed token). What a line carries is what its caller passed.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { httpLogging } from '../../../src/observability/logging/http-logging.js';
import { logContextIn, requestLogContext } from '../../../src/observability/logging/log-context.js';
import { NestPinoLogger } from '../../../src/observability/logging/nest-pino-logger.js';
import { createRootLogger } from '../../../src/observability/logging/root-logger.js';
import { watchAsyncLocalStorage } from '../../support/async-local-storage-watch.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createRootLogger({ level: 'verbose', format: 'json', secrets: [], destination }) };
}

describe('log context', () => {
  it('writes a LogContext given to a Nest logger call as fields of the line, and nothing else of a stray object', () => {
    const { lines, logger } = capture();
    const nest = new NestPinoLogger(logger);
    nest.warn('quota low', { requestId: 'req-1', identity: 'user:a', threadId: 't1', runId: 'r1' }, 'Limits');
    nest.error('[err-00000000-0000-0000-0000-000000000001] failed', 'Error: boom\n    at x', { runId: 'r2', threadId: 't2' }, 'Agent');
    nest.log('plain', { secretThing: 'no', runId: 42 }, 'Other');
    expect(lines[0]).toMatchObject({ level: 'warn', message: 'quota low', context: 'Limits', requestId: 'req-1', identity: 'user:a', threadId: 't1', runId: 'r1' });
    expect(lines[1]).toMatchObject({ level: 'error', context: 'Agent', runId: 'r2', threadId: 't2', errorId: 'err-00000000-0000-0000-0000-000000000001', stack: 'Error: boom\n    at x' });
    expect(lines[2]).not.toHaveProperty('secretThing');
    expect(lines[2]).not.toHaveProperty('runId');
    expect(logContextIn([new Error('x'), ['runId'], null, 'runId'])).toBeNull();
  });

  describe('at the HTTP edge', () => {
    let server: Server;
    let watch: ReturnType<typeof watchAsyncLocalStorage>;
    const { lines, logger } = capture();

    beforeEach(async () => {
      watch = watchAsyncLocalStorage();
      const edge = httpLogging(logger);
      server = createServer((req, res) =>
        edge(req, res, () => {
          // What the run pipeline does once it knows the run (LogContextStage), after an await.
          void Promise.resolve().then(() => {
            Object.assign(requestLogContext(req), { identity: 'user:b', threadId: 't9', runId: 'r9' });
            res.end('ok');
          });
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });

    afterEach(async () => {
      watch.restore();
      await new Promise((resolve) => server.close(resolve));
    });

    it('gives the request its id and its completion line what the pipeline learned, with no AsyncLocalStorage', async () => {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/api/copilotkit/agent/default/run`, { method: 'POST', headers: { 'x-request-id': 'req-edge-1' } });
      expect(response.headers.get('x-request-id')).toBe('req-edge-1');
      await response.text();
      const completion = await waitForLine(lines, (line) => line.requestId === 'req-edge-1');
      expect(completion).toMatchObject({ message: 'POST /api/copilotkit/agent/default/run 200', identity: 'user:b', threadId: 't9', runId: 'r9' });
      expect(watch.enabled).toEqual([]);
    });
  });
});

async function waitForLine(lines: Array<Record<string, unknown>>, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  // The completion line is written on the response's 'finish', which precedes the client's read of the body.
  for (let turn = 0; turn < 1000; turn++) {
    const found = lines.find(match);
    if (found) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no matching line among ${JSON.stringify(lines)}`);
}
