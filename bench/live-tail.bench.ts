/**
 * Cross-instance live-tail latency: how long an event takes from the replica that runs it (its
 * `timestamp`, stamped when the holder publishes it) to a follower connected to ANOTHER replica
 * (v2 `connect`, through PostgreSQL LISTEN/NOTIFY and a log read), with 1, 3 and 6 replicas on
 * one database. With 1 replica the follower is on the holder itself (the in-process bus).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> node --import ./test/support/ts-loader/register.mjs bench/live-tail.bench.ts
 *
 * Knobs: LIVE_TAIL_REPLICAS ("1,3,6"), LIVE_TAIL_RUNS (3 answers per setting), LIVE_TAIL_CHUNKS
 * (120 text chunks per answer, 20 ms apart). Prints a markdown table (p50/p99/max in ms).
 * Same machine, same clock: no skew between holder and follower.
 */
import { startAimock } from '../test/support/aimock.js';
import { startRuntimeProcess, type RuntimeProcess } from '../test/support/runtime-process.js';
import { openStream, runInput, userMessage } from '../test/v2/support/v2-client.js';
import { withScratchDatabase } from './lib/scratch-database.js';

const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('DATABASE_URL (a PostgreSQL server) is required: replicas share it');
const counts = (process.env.LIVE_TAIL_REPLICAS ?? '1,3,6').split(',').map(Number);
const runsPerSetting = Number(process.env.LIVE_TAIL_RUNS ?? 3);
const chunks = Number(process.env.LIVE_TAIL_CHUNKS ?? 120);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function withDatabase<T>(use: (url: string) => Promise<T>): Promise<T> {
  return withScratchDatabase(serverUrl!, 'crn_live_tail', use);
}

async function main(): Promise<void> {
  const llm = await startAimock();
  llm.mock.onMessage('tail me', { content: 'x'.repeat(chunks * 4) }, { chunkSize: 4, latency: 20 });
  const rows: string[] = [];
  for (const count of counts) {
    const latencies = await withDatabase(async (url) => {
      const env = { DATABASE_URL: url, OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: llm.baseURL, LLM_MAX_RETRIES: '0' };
      // The first one migrates; the others then boot together.
      const first = await startRuntimeProcess(env);
      const replicas: RuntimeProcess[] = [first, ...(await Promise.all(Array.from({ length: count - 1 }, () => startRuntimeProcess(env))))];
      const measured: number[] = [];
      try {
        for (let run = 0; run < runsPerSetting; run++) {
          const threadId = `tail-${count}-${run}`;
          const holder = replicas[0]!;
          const answer = openStream(`${holder.url}/agent/default/run`, runInput({ threadId, runId: `${threadId}-r`, messages: [userMessage('u', 'tail me')] }));
          await answer.next('RUN_STARTED');
          // One follower per other replica (on the holder itself when there is only one).
          const followerHosts = count === 1 ? [holder] : replicas.slice(1);
          const followers = followerHosts.map((replica) => {
            const seen: number[] = [];
            const stream = openStreamTimed(`${replica.url}/agent/default/connect`, runInput({ threadId, runId: `${threadId}-c` }), seen);
            return { stream, seen };
          });
          await answer.done;
          for (const follower of followers) {
            await follower.stream;
            measured.push(...follower.seen);
          }
        }
      } finally {
        await Promise.all(replicas.map((replica) => replica.close()));
      }
      return measured.sort((a, b) => a - b);
    });
    rows.push(
      `| ${count} | ${latencies.length} | ${percentile(latencies, 50).toFixed(1)} | ${percentile(latencies, 99).toFixed(1)} | ${latencies.at(-1)!.toFixed(1)} |`,
    );
    console.error(`replicas=${count}: ${latencies.length} events measured`);
  }
  await llm.stop();
  console.log('| Replicas | Events | p50 (ms) | p99 (ms) | max (ms) |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

/**
 * A v2 connect read as it streams; for each live TEXT_MESSAGE_CONTENT, receive time minus the
 * holder's timestamp. Events replayed from before the follower joined are skipped (the first
 * events of the answer can precede the connect).
 */
async function openStreamTimed(url: string, body: unknown, seen: number[]): Promise<void> {
  const joinedAt = Date.now();
  const reply = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
  const decoder = new TextDecoder();
  let raw = '';
  for await (const chunk of reply.body as unknown as AsyncIterable<Uint8Array>) {
    const now = Date.now();
    raw += decoder.decode(chunk, { stream: true });
    const end = raw.lastIndexOf('\n\n');
    if (end < 0) continue;
    for (const frame of raw.slice(0, end).split('\n\n')) {
      const data = frame.split('\n').find((line) => line.startsWith('data: '));
      if (!data) continue;
      const event = JSON.parse(data.slice(6)) as { type: string; timestamp?: number };
      if (event.type === 'TEXT_MESSAGE_CONTENT' && typeof event.timestamp === 'number' && event.timestamp > joinedAt + 200) {
        seen.push(now - event.timestamp);
      }
    }
    raw = raw.slice(end + 2);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
