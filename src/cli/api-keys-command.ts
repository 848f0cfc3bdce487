import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { ApiKeys } from '../auth/api-keys.service.js';
import type { IdentityLimits } from '../common/request-context.js';
import type { DatabaseOptions } from '../config/runtime-options.js';
import { PersistenceModule } from '../persistence/persistence.module.js';
import type { ApiKeyRecord } from '../ports/api-key-store.js';

export const API_KEYS_USAGE = `Usage:
  api-keys create --owner <identity> --name <name> [--expires-in <30d|12h|90m> | --expires-at <ISO date>]
                  [--runs-per-minute <n>] [--tokens-per-hour <n>] [--concurrent-runs <n>]
  api-keys list [--owner <identity>] [--json]
  api-keys revoke <key id>

<identity> is the identity the key acts as, as the runtime names it: user:<sub> for a JWT user
(the key then sees that user's threads), or any id of your own resolver. The key is printed once.`;

/** Where the command writes (the process's streams, or a test's buffers). */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `api-keys create|list|revoke` against the runtime's database: the admin path for API keys.
 * Returns the exit code. With the embedded database (no DATABASE_URL), run it while the server is
 * stopped: one process owns a PGlite data directory.
 */
export async function runApiKeysCommand(argv: string[], database: DatabaseOptions, output: CliOutput): Promise<number> {
  const [command, ...rest] = argv;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest);
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${API_KEYS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (command !== 'create' && command !== 'list' && command !== 'revoke') {
    output.err(API_KEYS_USAGE);
    return 2;
  }
  let input: ReturnType<typeof createInput> | undefined;
  try {
    if (command === 'create') input = createInput(values);
    if (command === 'revoke' && positionals.length !== 1) throw new Error('revoke takes one key id.');
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${API_KEYS_USAGE}`);
    return 2;
  }

  const app = await openDatabase(database);
  try {
    const keys = app.get(ApiKeys);
    if (command === 'create') {
      const { key, record } = await keys.create(input!);
      output.out(`API key (shown once, store it now): ${key}`);
      output.out(JSON.stringify(view(record)));
      return 0;
    }
    if (command === 'list') {
      const records = await keys.list(values.owner);
      if (values.json) output.out(JSON.stringify(records.map(view)));
      else if (records.length === 0) output.out('No API keys.');
      else for (const record of records) output.out(line(record));
      return 0;
    }
    const revoked = await keys.revoke(positionals[0]!);
    if (!revoked) {
      output.err(`No API key with id ${positionals[0]}.`);
      return 1;
    }
    output.out(`Revoked ${revoked.id} (${revoked.name}, owner ${revoked.ownerId}) at ${revoked.revokedAt!.toISOString()}.`);
    return 0;
  } catch (error) {
    output.err((error as Error).message);
    return 1;
  } finally {
    await app.close();
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      owner: { type: 'string' },
      name: { type: 'string' },
      'expires-in': { type: 'string' },
      'expires-at': { type: 'string' },
      'runs-per-minute': { type: 'string' },
      'tokens-per-hour': { type: 'string' },
      'concurrent-runs': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
}

function createInput(values: ReturnType<typeof parse>['values']) {
  if (!values.owner) throw new Error('create needs --owner.');
  if (!values.name) throw new Error('create needs --name.');
  if (values['expires-in'] && values['expires-at']) throw new Error('Give --expires-in or --expires-at, not both.');
  let expiresAt: Date | null = null;
  if (values['expires-in']) expiresAt = new Date(Date.now() + duration(values['expires-in']));
  if (values['expires-at']) {
    expiresAt = new Date(values['expires-at']);
    if (Number.isNaN(expiresAt.getTime())) throw new Error(`--expires-at is not a date: ${values['expires-at']}`);
  }
  const limits: IdentityLimits = {};
  for (const [flag, name] of [
    ['runs-per-minute', 'runsPerMinute'],
    ['tokens-per-hour', 'tokensPerHour'],
    ['concurrent-runs', 'concurrentRuns'],
  ] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value)) throw new Error(`--${flag} must be a whole number, got ${value}.`);
    limits[name] = Number(value);
  }
  return { ownerId: values.owner, name: values.name, expiresAt, limits: Object.keys(limits).length > 0 ? limits : null };
}

function duration(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new Error(`--expires-in must look like 90m, 12h or 30d, got ${text}.`);
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function view(record: ApiKeyRecord) {
  return {
    id: record.id,
    name: record.name,
    owner: record.ownerId,
    prefix: record.prefix,
    createdAt: record.createdAt.toISOString(),
    expiresAt: record.expiresAt?.toISOString() ?? null,
    revokedAt: record.revokedAt?.toISOString() ?? null,
    limits: record.limits,
  };
}

function line(record: ApiKeyRecord): string {
  const state = record.revokedAt ? 'revoked' : record.expiresAt && record.expiresAt.getTime() <= Date.now() ? 'expired' : 'active';
  return [record.id, state, record.prefix + '…', record.ownerId, JSON.stringify(record.name), record.expiresAt?.toISOString() ?? 'no expiry'].join('  ');
}

async function openDatabase(database: DatabaseOptions): Promise<INestApplicationContext> {
  @Module({ imports: [PersistenceModule.forRoot(database)], providers: [ApiKeys] })
  class ApiKeysCliModule {}
  return NestFactory.createApplicationContext(ApiKeysCliModule, { logger: ['error'] });
}
