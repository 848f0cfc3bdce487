import { BenchChild } from '../compare/child-process.js';
import { ServerProcess } from './server-process.js';

/**
 * No child (servers, mocks) outlives the bench: they are killed when the bench process exits; with
 * a deadline, the bench gives up (exit 1) past it. Returns the deadline's timer, to clear on success.
 */
export function guardChildren(label: string, deadline?: { ms: number; variable: string }): NodeJS.Timeout | undefined {
  process.once('exit', () => {
    BenchChild.killAllNow();
    ServerProcess.killAllNow();
  });
  if (!deadline) return undefined;
  return setTimeout(() => {
    console.error(`[${label}] exceeded ${deadline.variable} (${deadline.ms} ms)`);
    BenchChild.killAllNow();
    ServerProcess.killAllNow();
    process.exit(1);
  }, deadline.ms);
}
