import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RunsOptions } from '../config/runtime-options.js';
import type { BusyThreadPolicy } from './agent-runner.js';

export interface ResolvedRunsOptions {
  runner: 'postgres' | 'memory';
  busyThreadPolicy: BusyThreadPolicy;
  queueTimeoutMs: number;
  lockTtlMs: number;
  maxOutageMs: number;
  flushBatchSize: number;
  flushIntervalMs: number;
  shutdownTimeoutMs: number;
  memory: { maxThreads: number; maxRunsPerThread: number; maxBytes: number };
}

export const DEFAULT_RUNS_OPTIONS: ResolvedRunsOptions = {
  runner: 'postgres',
  busyThreadPolicy: 'fail',
  queueTimeoutMs: 60_000,
  lockTtlMs: 30_000,
  maxOutageMs: 30_000,
  flushBatchSize: 1000,
  flushIntervalMs: 25,
  shutdownTimeoutMs: 10_000,
  memory: { maxThreads: 1_000, maxRunsPerThread: 50, maxBytes: 64 * 1024 * 1024 },
};

/** Injection token of the ResolvedRunsOptions. */
export const RUNS_OPTIONS = Symbol('RUNS_OPTIONS');

/** Injection token of this process's runtime instance id (the holder of the locks it takes). */
export const RUNTIME_INSTANCE_ID = Symbol('RUNTIME_INSTANCE_ID');

/** `<hostname>-<pid>-<random>`: unique per process start, readable in the lock table. */
export function newRuntimeInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Defaults filled in and every value checked, so a bad configuration fails at boot. */
export function resolveRunsOptions(options: RunsOptions = {}): ResolvedRunsOptions {
  const d = DEFAULT_RUNS_OPTIONS;
  const runner = options.runner ?? d.runner;
  if (runner !== 'postgres' && runner !== 'memory') {
    throw new Error(`runs.runner must be 'postgres' or 'memory', got ${JSON.stringify(runner)}`);
  }
  const busyThreadPolicy = options.busyThreadPolicy ?? d.busyThreadPolicy;
  if (!['fail', 'queue', 'supersede'].includes(busyThreadPolicy)) {
    throw new Error(
      `runs.busyThreadPolicy must be 'fail', 'queue' or 'supersede', got ${JSON.stringify(busyThreadPolicy)}`,
    );
  }
  const memory = options.memory ?? {};
  const resolved: ResolvedRunsOptions = {
    runner,
    busyThreadPolicy,
    queueTimeoutMs: positive('runs.queueTimeoutMs', options.queueTimeoutMs ?? d.queueTimeoutMs),
    lockTtlMs: positive('runs.lockTtlMs', options.lockTtlMs ?? d.lockTtlMs),
    maxOutageMs: positive('runs.maxOutageMs', options.maxOutageMs ?? d.maxOutageMs),
    flushBatchSize: positive('runs.flushBatchSize', options.flushBatchSize ?? d.flushBatchSize),
    flushIntervalMs: positive('runs.flushIntervalMs', options.flushIntervalMs ?? d.flushIntervalMs),
    shutdownTimeoutMs: positive('runs.shutdownTimeoutMs', options.shutdownTimeoutMs ?? d.shutdownTimeoutMs),
    memory: {
      maxThreads: positive('runs.memory.maxThreads', memory.maxThreads ?? d.memory.maxThreads),
      maxRunsPerThread: positive(
        'runs.memory.maxRunsPerThread',
        memory.maxRunsPerThread ?? d.memory.maxRunsPerThread,
      ),
      maxBytes: positive('runs.memory.maxBytes', memory.maxBytes ?? d.memory.maxBytes),
    },
  };
  if (resolved.lockTtlMs < 300) {
    throw new Error(`runs.lockTtlMs must be at least 300 ms, got ${resolved.lockTtlMs}`);
  }
  return resolved;
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return value;
}
