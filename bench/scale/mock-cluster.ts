import { join } from 'node:path';
import { BenchChild } from '../compare/child-process.js';
import { DIST_SCALE, ROOT } from './settings.js';

export interface MockCluster {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/** Starts aimock-cluster.ts (processes of its own) with `env` (SCALE_TOKENS, SCALE_INTERVAL_MS, SCALE_MOCK_WORKERS). */
export async function startMockCluster(env: Record<string, string>): Promise<MockCluster> {
  const child = await BenchChild.start<{ url: string; pids: number[] }>({
    name: 'aimock',
    args: [join(DIST_SCALE, 'aimock-cluster.js')],
    cwd: ROOT,
    env,
    ready: (line) => (line.startsWith('{') ? (JSON.parse(line) as { url: string; pids: number[] }) : undefined),
    readyTimeoutMs: 30_000,
  });
  return { url: child.readyValue.url, pids: child.readyValue.pids, stop: () => child.stop() };
}
