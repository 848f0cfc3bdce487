/**
 * A bench-only child process (aimock, an upstream server) that says on stdout when it is ready:
 * its CPU time and memory are read from /proc, it is killed on every way out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { processCpuMs, processRssBytes } from '../lib/server-process.js';

export interface ChildOptions {
  name: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** Given each stdout line until it returns a value: that value is what `start` resolves with. */
  ready: (line: string) => unknown;
  readyTimeoutMs: number;
}

export class BenchChild<T = unknown> {
  private static readonly live = new Set<BenchChild>();
  private readonly tail: string[] = [];
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly readyValue: T,
  ) {}

  static start<T>(options: ChildOptions): Promise<BenchChild<T>> {
    const child = spawn(process.execPath, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    return new Promise((resolve, reject) => {
      let pending = '';
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`${options.name} was not ready within ${options.readyTimeoutMs} ms`)), options.readyTimeoutMs);
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n${tail.slice(-20).join('\n')}`));
      };
      const keep = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) tail.push(line);
        if (tail.length > 200) tail.splice(0, tail.length - 200);
      };
      child.stderr?.on('data', keep);
      child.stdout?.on('data', (chunk: Buffer) => {
        keep(chunk);
        if (settled) return;
        pending += chunk.toString('utf8');
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          const value = line ? options.ready(line) : undefined;
          if (value !== undefined) {
            settled = true;
            clearTimeout(timer);
            const started = new BenchChild<T>(options.name, child, value as T);
            started.tail.push(...tail);
            child.stdout?.on('data', (more: Buffer) => started.keep(more));
            child.stderr?.on('data', (more: Buffer) => started.keep(more));
            BenchChild.live.add(started);
            child.on('exit', () => {
              started.exited = true;
              BenchChild.live.delete(started);
            });
            resolve(started);
            return;
          }
        }
      });
      child.on('exit', (code, signal) => fail(new Error(`${options.name} exited during startup (code ${code}, signal ${signal})`)));
      child.on('error', (error) => fail(error));
    });
  }

  private keep(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.tail.push(line);
    if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  logTail(lines = 20): string {
    return this.tail.slice(-lines).join('\n');
  }

  cpuMs(): Promise<number | null> {
    return this.child.pid && !this.exited ? processCpuMs(this.child.pid) : Promise.resolve(null);
  }

  rssBytes(): Promise<number | null> {
    return this.child.pid && !this.exited ? processRssBytes(this.child.pid) : Promise.resolve(null);
  }

  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  static killAllNow(): void {
    for (const child of BenchChild.live) child.child.kill('SIGKILL');
  }
}
