import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { closeAtTheLatestAfterTheSpec } from '../support/leftovers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NGINX_PATH = process.env.NGINX_PATH ?? '/usr/sbin/nginx';

/** scripts/ensure-nginx.sh: a no-op when nginx is installed, apt-get install nginx-light otherwise. */
export async function ensureNginx(): Promise<void> {
  await promisify(execFile)('sh', [join(ROOT, 'scripts/ensure-nginx.sh')], { env: { ...process.env, NGINX_PATH } });
}

export interface Nginx {
  origin: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Debian's nginx as an ordinary process on a free loopback port, with the repository's
 * configuration (deploy/nginx/copilot-runtime.conf, its `listen` moved to that port) in front
 * of `upstreams` (host:port), everything else (pid, logs, temp files) in a temporary prefix.
 */
export function startNginx(upstreams: string[]): Promise<Nginx> {
  return closeAtTheLatestAfterTheSpec(start(upstreams));
}

async function start(upstreams: string[]): Promise<Nginx> {
  const prefix = await mkdtemp(join(tmpdir(), 'crn-nginx-'));
  const port = await freePort();
  const site = (await readFile(join(ROOT, 'deploy/nginx/copilot-runtime.conf'), 'utf8')).replace(
    /listen\s+8080;/,
    `listen 127.0.0.1:${port};`,
  );
  if (!site.includes(`127.0.0.1:${port}`)) throw new Error('deploy/nginx/copilot-runtime.conf has no "listen 8080;" to move');
  await writeFile(join(prefix, 'copilot-runtime.conf'), site);
  await writeFile(
    join(prefix, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'error.log')} warn;`,
      'events { worker_connections 512; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(prefix, kind)};`),
      '  upstream copilot_runtime {',
      ...upstreams.map((upstream) => `    server ${upstream} max_fails=1 fail_timeout=5s;`),
      '    keepalive 16;',
      '  }',
      `  include ${join(prefix, 'copilot-runtime.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(NGINX_PATH, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  // Up once it proxies a readiness probe.
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) {
      const log = await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`nginx exited (${child.exitCode}): ${stderr}${log}`);
    }
    const ready = await fetch(`${origin}/health/ready`).then((reply) => reply.ok, () => false);
    if (ready) break;
    if (attempt > 200) throw new Error(`nginx did not answer on ${origin}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    origin,
    port,
    close: async () => {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
