/**
 * What holds a subscriber's memory: heap snapshots of the server before and after N subscribers
 * join live threads, compared by constructor (count and self size per subscriber). A tool for
 * finding the cost, not part of the bench's figures.
 *
 *   node dist/bench/scale/heap-diff.js [sse|ws] [N]     (DATABASE_URL as for the bench)
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startOurs } from '../compare/targets.js';
import { serverEnvironment } from '../context.js';
import { guardChildren } from '../lib/child-guard.js';
import { startMockCluster } from './mock-cluster.js';
import { connectStream, inBatches, openSocket, openStreams, startLongRun, subscribe } from './subscribers.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per "type:name" (strings and code grouped by type). */
function aggregate(path: string): Map<string, { count: number; size: number }> {
  const data = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; size: number }>();
  for (let offset = 0; offset < data.nodes.length; offset += width) {
    const type = types[data.nodes[offset + typeAt]!]!;
    const name = type === 'object' || type === 'closure' || type === 'native' ? data.strings[data.nodes[offset + nameAt]!]! : '';
    const key = `${type}:${name.slice(0, 80)}`;
    const group = groups.get(key) ?? { count: 0, size: 0 };
    group.count++;
    group.size += data.nodes[offset + sizeAt]!;
    groups.set(key, group);
  }
  return groups;
}

const mode = process.argv[2] === 'ws' ? 'ws' : 'sse';
const count = Number(process.argv[3] ?? 200);
const threads = 5;
const cleanups: Array<() => Promise<void>> = [];
// Children die with this process (no deadline: a tool run by hand).
guardChildren('heap-diff');
try {
  const aimock = await startMockCluster({ SCALE_MOCK_WORKERS: '1' });
  cleanups.push(() => aimock.stop());
  const { serverEnv } = await serverEnvironment(`${aimock.url}/v1`, cleanups);
  const ours = await startOurs({ ...serverEnv, LOG_LEVEL: 'warn', WS_MAX_SOCKETS_PER_IDENTITY: String(count + 10) });
  cleanups.push(() => ours.process.stop());
  const baseUrl = ours.target.baseUrl;
  const runs = new AbortController();
  const threadIds = Array.from({ length: threads }, (_, index) => `heap-${process.pid}-${Date.now()}-${index}`);
  await Promise.all(threadIds.map((threadId) => startLongRun(baseUrl, threadId, runs.signal)));
  const dir = await mkdtemp(join(tmpdir(), 'scale-heap-'));
  const before = join(dir, 'before.heapsnapshot');
  const after = join(dir, 'after.heapsnapshot');
  const sockets: WebSocket[] = [];
  if (mode === 'ws') await inBatches(count, 50, async () => void sockets.push(await openSocket(baseUrl.replace(/^http/, 'ws'))));
  // Warm-up: the first subscribers compile code (and fill caches) once for all.
  const warm = new AbortController();
  await inBatches(Math.min(count, 50), 50, (index) => connectStream(baseUrl, threadIds[index % threads]!, warm.signal));
  warm.abort();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await ours.process.memory(true, 60_000);
  console.log(`before: streams open ${openStreams.count}, ended early ${openStreams.endedEarly}`);
  const m0 = await ours.process.memory(true, 120_000, before);
  console.log(`after the first snapshot: streams open ${openStreams.count}, ended early ${openStreams.endedEarly}`);
  const streams = new AbortController();
  if (mode === 'ws') await inBatches(count, 50, (index) => subscribe(sockets[index]!, threadIds[index % threads]!));
  else await inBatches(count, 50, (index) => connectStream(baseUrl, threadIds[index % threads]!, streams.signal));
  await ours.process.memory(true, 60_000);
  console.log(`streams open ${openStreams.count}, ended early ${openStreams.endedEarly}`);
  const m1 = await ours.process.memory(true, 120_000, after);
  console.log(`${mode}: (heapUsed+external) per subscriber ${(((m1!.heapUsed + m1!.external) - (m0!.heapUsed + m0!.external)) / count / 1024).toFixed(1)} KB (heapUsed ${((m1!.heapUsed - m0!.heapUsed) / count / 1024).toFixed(1)}, external ${((m1!.external - m0!.external) / count / 1024).toFixed(1)})`);
  const a = aggregate(before);
  const b = aggregate(after);
  const rows = [...b.entries()]
    .map(([key, value]) => ({ key, count: (value.count - (a.get(key)?.count ?? 0)) / count, bytes: (value.size - (a.get(key)?.size ?? 0)) / count }))
    .filter((row) => Math.abs(row.bytes) >= 40)
    .sort((x, y) => y.bytes - x.bytes);
  for (const row of rows.slice(0, 60)) console.log(`${row.bytes.toFixed(0).padStart(7)} B ${row.count.toFixed(2).padStart(7)}×  ${row.key}`);
  console.log(`snapshots in ${dir}`);
  console.log(ours.process.logTail(15));
  streams.abort();
  for (const socket of sockets) socket.terminate();
  runs.abort();
  await Promise.all(threadIds.map((threadId) => fetch(`${baseUrl}/agent/default/stop/${threadId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined)));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
}
