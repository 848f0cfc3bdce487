/**
 * LISTEN_BACKLOG: the kernel queues connections the server has not accepted yet. With Node's default
 * backlog (511), a burst of connections while the event loop is busy overflowed the queue: the
 * dropped clients waited out TCP's SYN retries (seconds) or failed to connect (bench:scale, 1,000
 * streams). Here the server process is frozen (SIGSTOP) while 1,000 clients connect: every
 * connection completes its handshake in the kernel's queue, and once the server runs again each
 * gets its answer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { databaseEnv } from '../health/database-rows.js';
import { testDatabaseOptions } from '../support/database.js';
import { startRuntimeProcess, type RuntimeProcess } from '../support/runtime-process.js';

const CLIENTS = 1000;

describe('listen backlog', () => {
  let server: RuntimeProcess;

  beforeAll(async () => {
    server = await startRuntimeProcess({ ...databaseEnv(await testDatabaseOptions()), LOG_LEVEL: 'log' });
  });

  afterAll(async () => {
    server?.signal('SIGCONT');
    await server?.close();
  });

  it(`queues ${CLIENTS} connections made while the server cannot accept, and answers each once it can`, async () => {
    server.signal('SIGSTOP');
    const sockets: Socket[] = [];
    try {
      // Every handshake completes while the process is stopped: the kernel holds them all.
      await Promise.all(
        Array.from({ length: CLIENTS }, () =>
          new Promise<void>((resolve, reject) => {
            const socket = connect(server.port, '127.0.0.1', () => resolve());
            socket.once('error', reject);
            sockets.push(socket);
          }),
        ),
      );
      const answers = sockets.map(
        (socket) =>
          new Promise<string>((resolve, reject) => {
            let data = '';
            socket.setEncoding('utf8');
            socket.on('data', (chunk: string) => (data += chunk));
            socket.once('end', () => resolve(data));
            socket.once('error', reject);
            socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
          }),
      );
      server.signal('SIGCONT');
      const statuses = (await Promise.all(answers)).map((answer) => answer.split('\r\n', 1)[0]);
      expect(statuses.filter((status) => status === 'HTTP/1.1 200 OK')).toHaveLength(CLIENTS);
    } finally {
      server.signal('SIGCONT');
      for (const socket of sockets) socket.destroy();
    }
  });
});
