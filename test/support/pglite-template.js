// Jest globalSetup / globalTeardown of the integration project (plain JS: Jest loads these outside
// the test transform). Without TEST_DATABASE_URL every test database is an embedded PGlite in a
// fresh directory, and PGlite's initdb takes seconds per directory (7 s on a busy 2-core machine).
// So initdb runs once per Jest run, into a template directory laid out as the runtime's data
// directory (`<dataDir>/pglite`); test/support/database.ts copies it for each test database. A
// copy of an empty, freshly initialised cluster is what a fresh directory would have been.
import { PGlite } from '@electric-sql/pglite';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEMPLATE_ENV = 'CRN_TEST_PGLITE_TEMPLATE';

export async function setup() {
  if (process.env.TEST_DATABASE_URL || process.env[TEMPLATE_ENV]) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'crn-test-template-'));
  const db = await PGlite.create(join(dataDir, 'pglite'));
  await db.close();
  process.env[TEMPLATE_ENV] = dataDir;
}

export async function teardown() {
  const dataDir = process.env[TEMPLATE_ENV];
  if (!dataDir) return;
  delete process.env[TEMPLATE_ENV];
  await rm(dataDir, { recursive: true, force: true });
}
