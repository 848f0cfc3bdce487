/** The scale bench's knobs, read once from the environment (all bounded). */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFromEnv } from '../lib/bench-env.js';

/** The repository root: this module runs from dist/bench/scale/. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const DIST_SCALE = join(ROOT, 'dist', 'bench', 'scale');
export const COPILOTKIT_PATH = '/api/copilotkit';


function levelsFromEnv(): number[] {
  const raw = process.env.SCALE_LEVELS ?? '200,400,1000';
  const levels = raw.split(',').map((part) => Number(part.trim()));
  if (levels.length === 0 || levels.length > 6 || levels.some((level) => !Number.isInteger(level) || level < 1 || level > 2000)) {
    throw new Error(`SCALE_LEVELS must list up to 6 integers between 1 and 2000 (got "${raw}")`);
  }
  return levels;
}

export const settings = {
  /** Concurrent paced streams, one level after the other. */
  levels: levelsFromEnv(),
  /** Tokens per answer, one per SSE event from aimock. */
  tokens: intFromEnv('SCALE_TOKENS', 600, 10, 5000),
  /** 50 ms between tokens: 20 tokens/s per stream. */
  intervalMs: intFromEnv('SCALE_INTERVAL_MS', 50, 1, 1000),
  /** The streams of a level start spread evenly over this window (0: all at once). */
  rampMs: intFromEnv('SCALE_RAMP_MS', 2_000, 0, 60_000),
  /** Client processes the streams are spread over (0: one per 250 streams, at least 2). */
  clientWorkers: intFromEnv('SCALE_CLIENT_WORKERS', 0, 0, 16),
  /** aimock processes (node:cluster on one port). */
  mockWorkers: intFromEnv('SCALE_MOCK_WORKERS', 2, 1, 8),
  /** Subscribers per transport in the subscriber-memory measurement (0 skips it). */
  subscribers: intFromEnv('SCALE_SUBSCRIBERS', 500, 0, 2000),
  /** Live threads the subscribers are spread over. */
  subscriberThreads: intFromEnv('SCALE_SUBSCRIBER_THREADS', 10, 1, 100),
  streamTimeoutMs: intFromEnv('SCALE_STREAM_TIMEOUT_MS', 300_000, 10_000, 1_800_000),
  deadlineMs: intFromEnv('SCALE_DEADLINE_MS', 2_400_000, 60_000, 7_200_000),
};

export type ScaleSettings = typeof settings;

/** Prompts that select aimock's fixtures. */
export const SCALE_MARKERS = { paced: 'scale-paced', long: 'scale-long' } as const;
export const promptFor = (marker: keyof typeof SCALE_MARKERS, key: string) => `${SCALE_MARKERS[marker]}: answer with the text run=${key}`;
