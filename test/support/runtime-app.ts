import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { CopilotRuntimeModule, type CopilotRuntimeOptions } from '../../src/index.js';
import { ConversationWriter } from '../../src/persistence/conversation-writer.js';
import { testDatabaseOptions, type TestDatabase } from './database.js';
import { closeAtTheLatestAfterTheSpec } from './leftovers.js';

export interface RuntimeApp {
  app: INestApplication;
  /** e.g. http://127.0.0.1:41234/api/copilotkit */
  url: string;
  wsUrl: string;
  db: TestDatabase;
  /** Resolves when every queued database write has landed. */
  persisted(): Promise<void>;
  close(): Promise<void>;
}

export interface RuntimeAppOptions {
  /** OpenAI-compatible base URL (aimock's `baseURL`); omitted = no LLM configured. */
  llmBaseUrl?: string;
  apiKey?: string;
  options?: Partial<CopilotRuntimeOptions>;
  /** The user's own modules (actions, agents). */
  imports?: any[];
  /** Reuse a database (restart tests). */
  db?: TestDatabase;
}

/**
 * Boots the runtime the way a user's Nest application would (importing CopilotRuntimeModule next
 * to their own modules) on a random loopback port, against the test database.
 */
export function startRuntimeApp(input: RuntimeAppOptions = {}): Promise<RuntimeApp> {
  // Closed after the spec file at the latest, even when the hook starting it timed out.
  return closeAtTheLatestAfterTheSpec(start(input));
}

async function start(input: RuntimeAppOptions): Promise<RuntimeApp> {
  const db = input.db ?? (await testDatabaseOptions());
  const options: CopilotRuntimeOptions = {
    database: db.options,
    llm: input.llmBaseUrl
      ? { openai: { apiKey: input.apiKey ?? 'test-key', baseUrl: input.llmBaseUrl, model: 'gpt-4o-mini', maxRetries: 0 } }
      : {},
    ...input.options,
  };
  const moduleRef = await Test.createTestingModule({
    imports: [CopilotRuntimeModule.forRoot(options), ...(input.imports ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: ['error'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const path = options.path ?? '/api/copilotkit';
  const writer = app.get(ConversationWriter);
  return {
    app,
    url: `http://127.0.0.1:${port}${path}`,
    wsUrl: `ws://127.0.0.1:${port}${path}`,
    db,
    persisted: () => writer.whenIdle(),
    close: async () => {
      await app.close();
      if (!input.db) await db.cleanup();
    },
  };
}
