/**
 * Preloaded into the benchmarked server process (`node --import <this file> dist/src/main.js`,
 * spawned with an IPC channel). Answers `{ type: 'bench:memory', id, gc? }` messages with the
 * process's `process.memoryUsage()`, optionally after a full garbage collection (needs
 * `--expose-gc`). It does nothing else and does nothing at all without an IPC channel.
 */
import { writeHeapSnapshot } from 'node:v8';

interface MemoryRequest {
  type: 'bench:memory';
  id: number;
  gc?: boolean;
  /** Also write a V8 heap snapshot to this path (after the GC), for finding what holds memory. */
  heapSnapshot?: string;
}

if (typeof process.send === 'function') {
  process.on('message', (message: unknown) => {
    const request = message as MemoryRequest | null;
    if (!request || request.type !== 'bench:memory') return;
    const collect = (globalThis as { gc?: () => void }).gc;
    const collected = Boolean(request.gc && collect);
    if (request.gc && collect) {
      collect();
      collect();
    }
    const usage = process.memoryUsage();
    if (request.heapSnapshot) writeHeapSnapshot(request.heapSnapshot);
    process.send?.({ type: 'bench:memory', id: request.id, collected, usage });
  });
  // The channel must not keep the server alive once it shuts down.
  process.channel?.unref();
}

