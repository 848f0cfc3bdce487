/**
 * aimock in a process of its own, so that the bench process's CPU time is the clients' alone.
 * Two fixtures: the burst answer (every token its own SSE event, no pause) and the paced one
 * (one token every PACED_INTERVAL_MS). Prints `{"url": ...}` on its first line when listening.
 */
import { LLMock } from '@copilotkit/aimock';
import { COMPARE_MARKERS, compareAnswer } from './profiles.js';

const tokens = Number(process.env.COMPARE_TOKENS ?? 1000);
const pacedTokens = Number(process.env.COMPARE_PACED_TOKENS ?? 100);
const pacedIntervalMs = Number(process.env.COMPARE_PACED_INTERVAL_MS ?? 20);

const burst = compareAnswer(tokens);
const paced = compareAnswer(pacedTokens);
const mock = new LLMock({ port: 0, host: '127.0.0.1', journalMaxEntries: 20, logLevel: 'silent' });
mock.onMessage(COMPARE_MARKERS.burst, { content: burst.text }, { chunkSize: burst.chunkSize });
mock.onMessage(COMPARE_MARKERS.paced, { content: paced.text }, { chunkSize: paced.chunkSize, latency: pacedIntervalMs });
await mock.start();
// Hosted APIs keep idle connections far longer than Node's 5 s default (see bench/aimock.ts).
const server = (mock as unknown as { serverInstance?: { server?: { keepAliveTimeout?: number; headersTimeout?: number } } })
  .serverInstance?.server;
if (server) {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
}
process.stdout.write(`${JSON.stringify({ url: mock.url })}\n`);
process.on('SIGTERM', () => void mock.stop().finally(() => process.exit(0)));
