/**
 * What the phases share: aimock and its fixtures, the servers' environment (the database setting),
 * the model client of the direct LangChain baseline, and how a server process is started.
 */
import type { LLMock } from '@copilotkit/aimock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Aimock } from './aimock.js';
import { COPILOTKIT_PATH, config, MEMORY_PROBE, MODEL, ROOT, SERVER_ENTRY, type BenchAnswer, type Runner } from './config.js';
import { ensureDatabase } from './lib/scratch-database.js';
import { ServerProcess } from './lib/server-process.js';
import { benchChatModel, type StreamTiming } from './lib/streams.js';

export interface BenchContext {
  mock: LLMock;
  aimockBaseURL: string;
  answer: BenchAnswer;
  pacedAnswer: BenchAnswer;
  heapAnswer: BenchAnswer;
  noteUpstream: (key: string, timing: StreamTiming) => StreamTiming;
  serverEnv: Record<string, string>;
  /** The database setting, as the report names it. */
  database: string;
  chatModel: ReturnType<typeof benchChatModel>;
  /** Told of every server started, so that a failure can report the last one's log. */
  onServer: (server: ServerProcess) => void;
}

/**
 * The servers' environment. Database: DATABASE_URL when given (created first when that database
 * does not exist on the server yet), else the embedded default in a
 * fresh temp directory (its removal is pushed onto `cleanups`). Every server uses the same setting.
 */
export async function serverEnvironment(
  aimockBaseURL: string,
  cleanups: Array<() => Promise<void>>,
): Promise<{ serverEnv: Record<string, string>; database: string }> {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  const serverEnv: Record<string, string> = {
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: aimockBaseURL,
    LLM_MODEL: MODEL,
    LLM_MAX_RETRIES: '0',
    // 'log' rather than 'warn': the runner's boot line confirms RUNNER; nothing is logged per run.
    LOG_LEVEL: 'log',
    LOG_FORMAT: 'text',
  };
  let database: string;
  if (databaseUrl) {
    if (await ensureDatabase(databaseUrl)) console.log(`[bench] created the database of DATABASE_URL (${redactUrl(databaseUrl)})`);
    serverEnv.DATABASE_URL = databaseUrl;
    database = `postgres via DATABASE_URL (${redactUrl(databaseUrl)})`;
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), 'crn-bench-'));
    serverEnv.DATA_DIR = dataDir;
    // Registered before the servers' stop (cleanups run in reverse): PGlite must stop first.
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    database = 'embedded PGlite (fresh temp DATA_DIR, shared by both servers)';
  }
  return { serverEnv, database };
}

export function benchContext(
  aimock: Aimock,
  environment: { serverEnv: Record<string, string>; database: string },
  onServer: (server: ServerProcess) => void,
): BenchContext {
  return {
    mock: aimock.mock,
    aimockBaseURL: aimock.baseURL,
    answer: aimock.answer,
    pacedAnswer: aimock.pacedAnswer,
    heapAnswer: aimock.heapAnswer,
    noteUpstream: aimock.noteUpstream,
    serverEnv: environment.serverEnv,
    database: environment.database,
    chatModel: benchChatModel(aimock.baseURL, MODEL),
    onServer,
  };
}

/** Starts the built server with RUNNER=<runner> and tells the context about it. */
export async function startServer(ctx: BenchContext, runner: Runner): Promise<ServerProcess> {
  const server = await ServerProcess.start({
    entry: SERVER_ENTRY,
    memoryProbe: MEMORY_PROBE,
    cwd: ROOT,
    env: { ...ctx.serverEnv, RUNNER: runner },
    path: COPILOTKIT_PATH,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  ctx.onServer(server);
  return server;
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${parsed.pathname}`;
  } catch {
    return 'unparseable';
  }
}
