import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeAtTheLatestAfterTheSpec } from './leftovers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOADER = fileURLToPath(new URL('./ts-loader/register.mjs', import.meta.url));

/**
 * The standalone server (src/main.ts) in a child process, as production runs it but from the
 * TypeScript sources (compiled on load by swc, test/support/ts-loader/): no prior build needed.
 *
 *   const server = await startRuntimeProcess({ DATABASE_URL, OPENAI_BASE_URL: llm.baseURL });
 *   await fetch(`${server.origin}/health/ready`);
 *   server.signal('SIGTERM'); const { code, signal } = await server.exited;
 */
export interface RuntimeProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** origin + the GraphQL base path */
  url: string;
  port: number;
  /** Everything the process wrote so far (stdout and stderr, interleaved). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL if still running, then waits for the exit. */
  close(): Promise<void>;
}

/** Waits for the "listening" line: LOG_LEVEL must be `log` or more verbose. */
export async function startRuntimeProcess(env: Record<string, string | undefined>): Promise<RuntimeProcess> {
  return closeAtTheLatestAfterTheSpec(start(env));
}

async function start(env: Record<string, string | undefined>): Promise<RuntimeProcess> {
  const child = spawn(process.execPath, ['--import', LOADER, 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) =>
      reject(new Error(`The runtime process exited (${code ?? signal}) before listening:\n${output.slice(-4000)}`)),
    );
  });
  const path = env.COPILOTKIT_PATH ?? '/api/copilotkit';
  const origin = `http://127.0.0.1:${port}`;
  return {
    child,
    origin,
    url: origin + path,
    port,
    output: () => output,
    exited,
    signal: (signal) => void child.kill(signal),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
