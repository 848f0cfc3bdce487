/** Where the bench ran: the machine, Node, the commit, and the bench process's own memory. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { ROOT } from './config.js';
import type { MemorySnapshot } from './lib/server-process.js';

export interface BenchEnvironment {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  totalMemory: number;
  loadAverageAtStart: number[];
  gitCommit: string | null;
  gitDirty: boolean | null;
  /** Set once the phases have chosen it. */
  database?: string;
  /** Set when the run completed. */
  loadAverageAtEnd?: number[];
}

export const loadAverage = (): number[] => loadavg().map((value) => Number(value.toFixed(2)));

export function describeEnvironment(): BenchEnvironment {
  const git = gitInfo();
  return {
    node: process.version,
    platform: `${process.platform} ${release()} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemory: totalmem(),
    loadAverageAtStart: loadAverage(),
    gitCommit: git.commit,
    gitDirty: git.dirty,
  };
}

function gitInfo(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

export function ownMemory(): MemorySnapshot {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers };
}
