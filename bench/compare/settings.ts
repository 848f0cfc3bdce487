/** The comparison's knobs, read once from the environment (all bounded). */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileName } from './profiles.js';
import type { Protocol } from './drivers.js';
import { intFromEnv } from '../lib/bench-env.js';

/** The repository root: this module runs from dist/bench/compare/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const UPSTREAM_DIR = join(ROOT, 'bench', 'upstream');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const AIMOCK_CHILD = join(ROOT, 'dist', 'bench', 'compare', 'aimock-child.js');
export const COPILOTKIT_PATH = '/api/copilotkit';


function listFromEnv<T extends string>(name: string, fallback: T[], allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const values = raw.split(',').map((part) => part.trim()) as T[];
  const wrong = values.filter((value) => !allowed.includes(value));
  if (wrong.length || values.length === 0) throw new Error(`${name} must list some of ${allowed.join(', ')} (got "${raw}")`);
  return values;
}

function levelsFromEnv(): number[] {
  const raw = process.env.COMPARE_LEVELS ?? '1,20,100';
  const levels = raw.split(',').map((part) => Number(part.trim()));
  if (levels.length === 0 || levels.length > 5 || levels.some((level) => !Number.isInteger(level) || level < 1 || level > 400)) {
    throw new Error(`COMPARE_LEVELS must list up to 5 integers between 1 and 400 (got "${raw}")`);
  }
  return levels;
}

export const settings = {
  protocols: listFromEnv<Protocol>('COMPARE_PROTOCOLS', ['v1', 'v2'], ['v1', 'v2']),
  profiles: listFromEnv<ProfileName>('COMPARE_PROFILES', ['burst', 'paced'], ['burst', 'paced']),
  levels: levelsFromEnv(),
  /** Rounds per (protocol, profile, level); the servers alternate which goes first. */
  rounds: intFromEnv('COMPARE_ROUNDS', 3, 1, 20),
  /** Answers one after the other in a round of level 1. */
  sequentialAnswers: intFromEnv('COMPARE_SEQUENTIAL_ANSWERS', 5, 1, 50),
  tokens: intFromEnv('COMPARE_TOKENS', 1000, 10, 5000),
  pacedTokens: intFromEnv('COMPARE_PACED_TOKENS', 100, 10, 1000),
  /** 20 ms between tokens: ~50 tokens/s per stream. */
  pacedIntervalMs: intFromEnv('COMPARE_PACED_INTERVAL_MS', 20, 1, 200),
  warmupAnswers: intFromEnv('COMPARE_WARMUP', 5, 1, 50),
  /**
   * Burst answers each server streams when it starts, before any cell: a server's first hundred
   * or so answers cost it more (JIT, a heap still growing: 44 → 30 ms per v2 answer for ours and
   * 112 → 95 ms for upstream after 40 of them), and a deployed server is judged warm.
   */
  settleAnswers: intFromEnv('COMPARE_SETTLE', 100, 0, 1000),
  streamTimeoutMs: intFromEnv('COMPARE_STREAM_TIMEOUT_MS', 120_000, 5_000, 600_000),
  deadlineMs: intFromEnv('COMPARE_DEADLINE_MS', 1_800_000, 60_000, 3_600_000),
};

export type CompareSettings = typeof settings;
