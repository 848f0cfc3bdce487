// Jest runs in native ESM mode (Nest 12 is ESM-only): see STACK.md.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

const TEST_TIMEOUT_MS = 30000;

const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Only our sources: the example app's own node_modules (examples/) must not be crawled.
  roots: ['<rootDir>/test', '<rootDir>/src'],
};

/**
 * The fast tier (`npm run test:unit`): specs that need no database and no servers beyond their own
 * loopback mocks (aimock, a local AG-UI server, fakes). A folder ends with `/`. Everything else is
 * the `integration` project; `npm test` runs both. A unit spec that asks for a test database fails
 * (test/support/unit-tier.ts): move it out of this list instead.
 */
const UNIT_SPECS = [
  // Transcription configuration (issue 14).
  'test/transcription/',
  'test/llm/',
  'test/agents/agent-event-stream.spec.ts',
  'test/agents/agent-sources.spec.ts',
  'test/contract/codegen.contract.spec.ts',
  'test/persistence/conversation-writer.spec.ts',
  'test/persistence/persistence-helpers.spec.ts',
  'test/persistence/event-batch-codec.spec.ts',
  'test/persistence/postgres-run-signals-outbox.spec.ts',
  'test/v2/history-replay.spec.ts',
  'test/runs/event-log-writer.spec.ts',
  'test/runs/event-log-flusher.spec.ts',
  'test/runs/lock-heartbeat.spec.ts',
  'test/persistence/admission-queue.spec.ts',
  'test/runs/run-batches.spec.ts',
  'test/graphql/turn-corked-sends.spec.ts',
  'test/graphql/incremental-executor.spec.ts',
  'test/runs/memory-adapters.spec.ts',
  'test/runs/run-core.spec.ts',
  'test/runs/run-event-bus.spec.ts',
  'test/runs/run-execution.spec.ts',
  'test/runs/runs.service.spec.ts',
  'test/common/',
  'test/http/',
  // MCP servers: names, URL patterns, results, configuration.
  'test/mcp/mcp-units.spec.ts',
  'test/guardrails/guardrails-units.spec.ts',
  // Remote CopilotKit endpoints
  'test/remote/unit/',
  'test/edges/edge-limits.spec.ts',
  // Operations (observability/): no database, no server.
  'test/observability/unit/',
  // Identity: credential parsing and JWT failure kinds (no database).
  'test/auth/credentials.spec.ts',
  'test/limits/limits-environment.spec.ts',
];

const asGlob = (path) => `<rootDir>/${path.endsWith('/') ? `${path}**/*.spec.ts` : path}`;
const asPathPattern = (path) => `<rootDir>/${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;

export default {
  testTimeout: TEST_TIMEOUT_MS,
  // One test file at a time (npm test: --maxWorkers=1), in a worker that is replaced once it holds
  // this much: ESM test modules are never freed, and one process running every suite in a row
  // grew past 4 GB and spent its time collecting garbage.
  workerIdleMemoryLimit: '1536MB',
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: UNIT_SPECS.map(asGlob),
      setupFiles: ['<rootDir>/test/support/unit-tier.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      // A longer limit for app-booting hooks (see the file).
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-tier.ts'],
      testMatch: ['<rootDir>/test/**/*.spec.ts'],
      // One PGlite initdb per run instead of one per test database (see the file).
      globalSetup: '<rootDir>/test/support/pglite-template-setup.js',
      globalTeardown: '<rootDir>/test/support/pglite-template-teardown.js',
      testPathIgnorePatterns: ['/node_modules/', ...UNIT_SPECS.map(asPathPattern)],
    },
  ],
};
