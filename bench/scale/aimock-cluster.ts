/**
 * aimock for the scale bench, in processes of its own (node:cluster, `SCALE_MOCK_WORKERS` workers
 * on one port), so that neither the clients' process nor a single mock event loop paces 20,000
 * tokens a second. Two fixtures: `paced` (SCALE_TOKENS tokens, one per SSE event every
 * SCALE_INTERVAL_MS) and `long` (a slow answer that keeps a thread live while subscribers join).
 * The primary prints `{"url": ..., "pids": [...]}` once every worker listens.
 */
import { LLMock } from '@copilotkit/aimock';
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { compareAnswer } from '../compare/profiles.js';
import { SCALE_MARKERS } from './settings.js';

/** The long answer: 1,000 tokens, one every 500 ms (over 8 minutes). */
export const LONG_TOKENS = 1000;
export const LONG_INTERVAL_MS = 500;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

if (cluster.isPrimary) {
  const workers = Number(process.env.SCALE_MOCK_WORKERS ?? 2);
  const port = await freePort();
  const pids: number[] = [];
  let listening = 0;
  for (let index = 0; index < workers; index++) {
    const worker = cluster.fork({ SCALE_MOCK_PORT: String(port) });
    pids.push(worker.process.pid!);
    worker.on('message', (message: unknown) => {
      if ((message as { listening?: boolean })?.listening && ++listening === workers) {
        process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pids })}\n`);
      }
    });
    worker.on('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`aimock worker exited with ${code}\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const tokens = Number(process.env.SCALE_TOKENS ?? 600);
  const intervalMs = Number(process.env.SCALE_INTERVAL_MS ?? 50);
  const paced = compareAnswer(tokens);
  const long = compareAnswer(LONG_TOKENS);
  const mock = new LLMock({ port: Number(process.env.SCALE_MOCK_PORT), host: '127.0.0.1', journalMaxEntries: 20, logLevel: 'silent' });
  mock.onMessage(SCALE_MARKERS.paced, { content: paced.text }, { chunkSize: paced.chunkSize, latency: intervalMs });
  mock.onMessage(SCALE_MARKERS.long, { content: long.text }, { chunkSize: long.chunkSize, latency: LONG_INTERVAL_MS });
  await mock.start();
  // Hosted APIs keep idle connections far longer than Node's 5 s default (see bench/aimock.ts).
  const server = (mock as unknown as { serverInstance?: { server?: { keepAliveTimeout?: number; headersTimeout?: number } } }).serverInstance?.server;
  if (server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  }
  process.send?.({ listening: true });
  process.on('SIGTERM', () => void mock.stop().finally(() => process.exit(0)));
}
