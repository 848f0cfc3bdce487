/**
 * The servers compared, all pointed at the same aimock: ours (the built `dist/src/main.js`, one
 * process serving v1 and v2) and upstream's, installed in `bench/upstream/<v1|v2>` (never a
 * dependency of the product): `@copilotkit/runtime@1.10.6` with its OpenAI adapter for v1,
 * `@copilotkit/runtime@1.75.0` with its built-in agent for v2.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_VERSION_HEADER, freePort, ServerProcess } from '../lib/server-process.js';
import { BenchChild } from './child-process.js';
import type { Protocol } from './drivers.js';
import { COPILOTKIT_PATH, ROOT, UPSTREAM_DIR } from './settings.js';

export type ServerName = 'ours' | 'upstream';

export interface Target {
  server: ServerName;
  /** e.g. `@copilotkit/runtime@1.10.6` */
  label: string;
  baseUrl: string;
  cpuMs(): Promise<number | null>;
  rssBytes(): Promise<number | null>;
  stop(): Promise<void>;
}

export const UPSTREAM_VERSIONS: Record<Protocol, string> = { v1: '1.10.6', v2: '1.75.0' };

/** Installs an upstream server's pinned packages into bench/upstream/<protocol> when missing. */
export function ensureUpstreamInstalled(protocol: Protocol, log: (line: string) => void): void {
  const dir = join(UPSTREAM_DIR, protocol);
  if (existsSync(join(dir, 'node_modules', '@copilotkit', 'runtime', 'package.json'))) return;
  log(`installing upstream @copilotkit/runtime@${UPSTREAM_VERSIONS[protocol]} into bench/upstream/${protocol} (bench only)`);
  const lock = existsSync(join(dir, 'package-lock.json'));
  execFileSync('npm', [lock ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'inherit',
    timeout: 900_000,
  });
}

export async function startUpstream(protocol: Protocol, aimockBaseURL: string, model: string): Promise<Target> {
  const port = await freePort();
  const child = await BenchChild.start<true>({
    name: `upstream ${protocol}`,
    args: [join(UPSTREAM_DIR, protocol, 'server.mjs')],
    cwd: join(UPSTREAM_DIR, protocol),
    env: {
      PORT: String(port),
      OPENAI_BASE_URL: aimockBaseURL,
      OPENAI_API_KEY: 'bench',
      LLM_MODEL: model,
      COPILOTKIT_TELEMETRY_DISABLED: 'true',
      NODE_ENV: 'production',
    },
    ready: (line) => (line === 'ready' ? true : undefined),
    readyTimeoutMs: 60_000,
  });
  return {
    server: 'upstream',
    label: `@copilotkit/runtime@${UPSTREAM_VERSIONS[protocol]}`,
    baseUrl: `http://127.0.0.1:${port}${COPILOTKIT_PATH}`,
    cpuMs: () => child.cpuMs(),
    rssBytes: () => child.rssBytes(),
    stop: () => child.stop(),
  };
}

export async function startOurs(env: Record<string, string>): Promise<{ target: Target; process: ServerProcess }> {
  const server = await ServerProcess.start({
    entry: join(ROOT, 'dist', 'src', 'main.js'),
    memoryProbe: join(ROOT, 'dist', 'bench', 'lib', 'memory-probe.js'),
    cwd: ROOT,
    env,
    path: COPILOTKIT_PATH,
    readyTimeoutMs: 60_000,
  });
  return {
    process: server,
    target: {
      server: 'ours',
      label: `copilot-runtime-nest@${gitHead()}`,
      baseUrl: server.url,
      cpuMs: () => server.cpuMs(),
      rssBytes: async () => (server.pid ? (await server.memory())?.rss ?? null : null),
      stop: () => server.stop(),
    },
  };
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export { CLIENT_VERSION_HEADER };
