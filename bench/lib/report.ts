import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Summary } from './stats.js';

export const JSON_FILE = 'stream-bench.json';
export const MARKDOWN_FILE = 'stream-bench.md';

/** Removes the previous run's results so that a crashed run never leaves stale numbers behind. */
export async function clearResults(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([JSON_FILE, MARKDOWN_FILE].map((file) => rm(join(dir, file), { force: true })));
}

/** Writes through a .tmp file (git-ignored) and a rename, so readers never see half a file. */
export async function writeResultFile(dir: string, file: string, content: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, file);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, content, 'utf8');
  await rename(temporary, target);
  return target;
}

export function mib(bytes: number | null | undefined): string {
  return typeof bytes === 'number' ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : 'n/a';
}

export function fmt(value: number | null | undefined, digits = 1): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

export type { Summary };

/** A relative difference as a signed percentage: `+1.5 %`, `-7.0 %`. */
export const percent = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %` : 'n/a');
export const signedMs = (value: number) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms` : 'n/a');
export const mibDelta = (bytes: number) => (Number.isFinite(bytes) ? `${bytes >= 0 ? '+' : '-'}${mib(Math.abs(bytes))}` : 'n/a');
