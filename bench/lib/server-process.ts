import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CLIENT_VERSION_HEADER = 'x-copilotkit-runtime-client-gql-version';

export interface MemorySnapshot {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Only when a full GC was asked for: whether the probe could force it (needs --expose-gc). */
  gcForced?: boolean;
}

export interface ServerProcessOptions {
  /** Absolute path of the built server entry (dist/src/main.js). */
  entry: string;
  /** Absolute path of the built memory probe (dist/bench/lib/memory-probe.js). */
  memoryProbe: string;
  cwd: string;
  /** Extra environment for the server (PORT and HOST are set here). */
  env: Record<string, string>;
  path: string;
  readyTimeoutMs: number;
}

/** Finds a free loopback port by listening on 0, closing and handing the number on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

let clockTicks: number | undefined;
function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc), or null. */
export async function processCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; utime and
    // stime are fields 14 and 15, in clock ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicksPerSecond() : null;
  } catch {
    return null;
  }
}

/** Resident set size of a process now (Linux VmRSS), in bytes, or null. */
export async function processRssBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * How the server is deployed: package.json's `start:prod` (`[VAR=value ...] node <flags>
 * dist/src/main.js`, the image's ENV and CMD), so that the bench measures what is deployed.
 */
function deployedCommand(root: string): { env: Record<string, string>; flags: string[] } {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  const match = /(?:^|&&\s*)((?:\w+=\S+\s+)*)node\s+((?:--?[\w-]+(?:=\S+)?\s+)*)dist\/src\/main\.js/.exec(scripts['start:prod'] ?? '');
  if (!match) throw new Error('package.json has no `start:prod` of the form `[VAR=value ...] node [flags] dist/src/main.js`');
  const env = Object.fromEntries(match[1]!.split(/\s+/).filter(Boolean).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
  return { env, flags: match[2]!.split(/\s+/).filter(Boolean) };
}

/**
 * The node flags the server is deployed with (`start:prod`). BENCH_SERVER_NODE_FLAGS
 * (space-separated) replaces them, to compare settings (e.g. `--max-semi-space-size=16`); an
 * empty value runs node's defaults.
 */
export function deployedNodeFlags(root: string): string[] {
  const override = process.env.BENCH_SERVER_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  return deployedCommand(root).flags;
}

/**
 * The environment `start:prod` sets (NODE_ENV=production, as the image does: graphql-js, for one,
 * skips its development checks on every `instanceof`). The bench's own environment and a server's
 * options come on top.
 */
export function deployedEnvironment(root: string): Record<string, string> {
  return deployedCommand(root).env;
}

/** The command line a server runs with: `start:prod`'s environment assignments, node and its flags. */
export function deployedCommandLine(server: { nodeEnv?: Record<string, string>; nodeFlags: readonly string[] }): string {
  const env = Object.entries(server.nodeEnv ?? {}).map(([name, value]) => `${name}=${value} `).join('');
  return `${env}node ${server.nodeFlags.join(' ')} dist/src/main.js`;
}

/** Environment variables that could make the server talk to anything but 127.0.0.1. */
const STRIPPED_ENV = [/^LANGCHAIN_/, /^LANGSMITH_/, /^OPENAI_/, /^LLM_/, /^COPILOTKIT_/, /^HTTPS?_PROXY$/i, /^DATA_DIR$/];

/**
 * The built server (`node dist/src/main.js`) as a child process on a free loopback port, with a
 * memory probe preloaded and reachable over IPC.
 */
export class ServerProcess {
  /** Every server child not yet exited, so that a deadline or signal can always kill it. */
  private static readonly live = new Set<ServerProcess>();
  readonly url: string;
  private readonly output: string[] = [];
  /**
   * Warning and error lines the server logged (LOG_FORMAT=text), with the first few verbatim, and
   * the first few errors apart (warnings that come first would crowd them out of `samples`).
   */
  readonly logCounts = { warnings: 0, errors: 0, samples: [] as string[], errorSamples: [] as string[] };
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitWaiters: Array<() => void> = [];
  private nextProbeId = 1;
  private readonly probeWaiters = new Map<number, (usage: MemorySnapshot, collected: boolean) => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    path: string,
  ) {
    this.url = `http://127.0.0.1:${port}${path}`;
    const keep = (chunk: Buffer) => {
      for (const raw of chunk.toString('utf8').split('\n')) {
        const line = raw.replace(/\u001b\[[0-9;]*m/g, '');
        if (!line.trim()) continue;
        this.output.push(line);
        const level = /\b(WARN|ERROR)\b/.exec(line)?.[1];
        if (level === 'WARN') this.logCounts.warnings++;
        if (level === 'ERROR') this.logCounts.errors++;
        if (level && this.logCounts.samples.length < 5) this.logCounts.samples.push(line.slice(0, 400));
        if (level === 'ERROR' && this.logCounts.errorSamples.length < 5) this.logCounts.errorSamples.push(line.slice(0, 400));
      }
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    ServerProcess.live.add(this);
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      ServerProcess.live.delete(this);
      for (const waiter of this.exitWaiters.splice(0)) waiter();
    });
    child.on('message', (message: unknown) => {
      const reply = message as { type?: string; id?: number; collected?: boolean; usage?: MemorySnapshot } | null;
      if (reply?.type !== 'bench:memory' || typeof reply.id !== 'number' || !reply.usage) return;
      this.probeWaiters.get(reply.id)?.(reply.usage, reply.collected === true);
      this.probeWaiters.delete(reply.id);
    });
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    if (!existsSync(options.entry)) throw new Error(`${options.entry} is missing: run \`npm run build\` first`);
    let lastError: unknown;
    // The port is free when picked but could be taken before the server binds: one retry.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { ...deployedEnvironment(options.cwd) };
      for (const [name, value] of Object.entries(process.env)) {
        if (!STRIPPED_ENV.some((pattern) => pattern.test(name))) env[name] = value;
      }
      Object.assign(env, options.env, { PORT: String(port), HOST: '127.0.0.1', NO_PROXY: '127.0.0.1,localhost' });
      const child = spawn(
        process.execPath,
        [
          ...deployedNodeFlags(options.cwd),
          '--expose-gc',
          // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it exits.
          ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
          '--import',
          pathToFileURL(options.memoryProbe).href,
          options.entry,
        ],
        { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
      );
      const server = new ServerProcess(child, port, options.path);
      try {
        await server.waitUntilReady(options.readyTimeoutMs);
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
        if (!server.logTail().includes('EADDRINUSE')) break;
      }
    }
    throw lastError;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  logTail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const probe = `${this.url}?query=${encodeURIComponent('{hello}')}`;
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(
          `the server exited during startup (code ${this.exited.code}, signal ${this.exited.signal}):\n${this.logTail()}`,
        );
      }
      try {
        const response = await fetch(probe, {
          headers: { [CLIENT_VERSION_HEADER]: '1.74.0' },
          signal: AbortSignal.timeout(2_000),
        });
        const body = (await response.json().catch(() => null)) as { data?: { hello?: string } } | null;
        if (response.ok && body?.data?.hello) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the server was not ready within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /**
   * The server's own process.memoryUsage() (after a full GC when `gc` is true; the snapshot then
   * says in `gcForced` whether the GC really ran).
   */
  memory(gc = false, timeoutMs = 5_000, heapSnapshot?: string): Promise<MemorySnapshot | null> {
    if (this.exited || !this.child.connected) return Promise.resolve(null);
    const id = this.nextProbeId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.probeWaiters.delete(id);
        resolve(null);
      }, timeoutMs);
      this.probeWaiters.set(id, (usage, collected) => {
        clearTimeout(timer);
        resolve(gc ? { ...usage, gcForced: collected } : usage);
      });
      this.child.send({ type: 'bench:memory', id, gc, ...(heapSnapshot ? { heapSnapshot } : {}) }, (error) => {
        if (error) {
          clearTimeout(timer);
          this.probeWaiters.delete(id);
          resolve(null);
        }
      });
    });
  }

  /** Peak resident set size of the server so far (Linux VmHWM), or null where unavailable. */
  async peakRss(): Promise<number | null> {
    if (!this.child.pid || this.exited) return null;
    try {
      const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
      const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
      return match ? Number(match[1]) * 1024 : null;
    } catch {
      return null;
    }
  }

  /** CPU time (user + system) the server has used so far, in ms (Linux /proc), or null. */
  async cpuMs(): Promise<number | null> {
    if (!this.child.pid || this.exited) return null;
    return processCpuMs(this.child.pid);
  }

  /** SIGTERM (graceful shutdown), then SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops every server child still running (startup included). */
  static async stopAll(): Promise<void> {
    await Promise.all([...ServerProcess.live].map((server) => server.stop()));
  }

  /** Synchronous last resort for every server child (process 'exit' handler). */
  static killAllNow(): void {
    for (const server of ServerProcess.live) server.killNow();
  }

  /** Synchronous last resort (process 'exit' handler). */
  killNow(): void {
    if (!this.exited && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
