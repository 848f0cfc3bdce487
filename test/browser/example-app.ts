import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium, type Browser } from 'playwright-core';

/**
 * What the browser tests need around the runtime: Debian's Chromium (installed by the project's
 * own script), the example app installed and built, and one loopback origin that serves the built
 * files and proxies the runtime's path to the booted app, the way a deployment puts both behind
 * one host.
 */

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const exampleDir = join(repoRoot, 'examples/react-chat');
export const resultsDir = join(repoRoot, 'test-results');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags from the machine notes: as root, and with no network beyond loopback. */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Runs a command to completion, its output going to the test's stderr with a prefix. Drops the
 * npm_* variables of an outer `npm test` so that npm, run inside the example, works on the
 * example's package.json and not on the root's.
 */
export function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<void> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD') env[key] = value;
  }
  Object.assign(env, options.env);
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-8000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (code === 0) {
        process.stderr.write(`[browser-test] ${command} ${args.join(' ')}: ok in ${seconds} s\n`);
        resolvePromise();
      } else {
        reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited with ${code} after ${seconds} s:\n${tail}`));
      }
    });
  });
}

/** scripts/ensure-chromium.sh: a no-op when /usr/bin/chromium exists, apt-get install otherwise. */
export async function ensureChromium(): Promise<void> {
  await run('sh', [join(repoRoot, 'scripts/ensure-chromium.sh')], { cwd: repoRoot, env: { CHROMIUM_PATH: chromiumPath } });
}

/**
 * Installs the example's dependencies when they are missing (npm ci from its lockfile; npm install
 * when ci refuses the lockfile), then builds it with `runtimeUrl` baked in. Returns the build's folder.
 */
export async function buildExample(runtimeUrl: string): Promise<string> {
  const vite = join(exampleDir, 'node_modules/vite/bin/vite.js');
  if (!isInstalled()) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const flags = ['--no-audit', '--no-fund', '--loglevel=error'];
    try {
      await run(npm, ['ci', ...flags], { cwd: exampleDir });
    } catch (error) {
      process.stderr.write(`[browser-test] npm ci failed, trying npm install: ${(error as Error).message.slice(-2000)}\n`);
      await run(npm, ['install', ...flags], { cwd: exampleDir });
    }
  }
  const outDir = join(exampleDir, 'dist');
  await run(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: exampleDir,
    env: { VITE_COPILOTKIT_RUNTIME_URL: runtimeUrl },
  });
  return outDir;
}

/** node_modules is there and no older than the lockfile (npm writes node_modules/.package-lock.json last). */
function isInstalled(): boolean {
  const installed = join(exampleDir, 'node_modules/.package-lock.json');
  const needed = ['node_modules/vite/bin/vite.js', 'node_modules/@copilotkit/react-ui/package.json'];
  if (!existsSync(installed) || needed.some((file) => !existsSync(join(exampleDir, file)))) return false;
  return statSync(installed).mtimeMs >= statSync(join(exampleDir, 'package-lock.json')).mtimeMs;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  /** The single-route envelope's `method`, when the body is one. */
  envelope?: string;
  status?: number;
}

export interface ExampleServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** Every request forwarded to the runtime, in order. */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * One origin on loopback: `runtimePath` (and everything under it) is forwarded byte for byte to
 * `runtimeOrigin`, streams included; everything else is the built example, index.html for unknown
 * paths (a single-page app).
 */
export async function serveExample(distDir: string, runtimeOrigin: string, runtimePath = '/api/copilotkit'): Promise<ExampleServer> {
  const upstream = new URL(runtimeOrigin);
  const requests: ProxiedRequest[] = [];
  const app = express();
  app.use((req, res, next) => {
    if (req.path !== runtimePath && !req.path.startsWith(`${runtimePath}/`)) return next();
    const record: ProxiedRequest = { method: req.method, path: req.originalUrl };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > 0 && String(req.headers['content-type']).includes('json')) {
        try {
          const parsed = JSON.parse(body.toString()) as { method?: unknown };
          if (typeof parsed.method === 'string') record.envelope = parsed.method;
        } catch {
          // not JSON after all: forwarded as is
        }
      }
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.originalUrl,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          record.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        if (!res.headersSent) res.status(502).json({ error: `proxy: ${error.message}` });
        else res.destroy(error);
      });
      // The browser went away (a page reload mid-stream): so does the upstream request.
      res.on('close', () => {
        if (!res.writableFinished) forward.destroy();
      });
      forward.end(body);
    });
  });
  app.use(express.static(distDir));
  app.use((_req, res) => res.sendFile(join(distDir, 'index.html')));

  const server = http.createServer(app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

export async function ensureResultsDir(): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  return resultsDir;
}
