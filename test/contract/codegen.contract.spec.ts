import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The committed resolver types (src/graphql/generated/resolvers-types.ts) are what
 * `npm run codegen` produces from schema/ today: a schema change without a regeneration fails
 * here rather than letting resolvers type-check against a stale contract.
 *
 * Codegen runs in a child Node process (its plugin loader needs Node's own module loader, not
 * Jest's) through the programmatic API, in memory: nothing is written to the working tree.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT = 'src/graphql/generated/resolvers-types.ts';

const GENERATE = `
import { generate, loadCodegenConfig } from '@graphql-codegen/cli';
const { config } = await loadCodegenConfig({ configFilePath: 'codegen.yml' });
const outputs = await generate({ ...config, cwd: process.cwd(), silent: true }, false);
process.stdout.write(JSON.stringify(outputs.map(({ filename, content }) => ({ filename, content }))));
`;

describe('generated resolver types', () => {
  it('are up to date with schema/ (run `npm run codegen` when this fails)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', GENERATE], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 20_000,
    });
    const outputs = JSON.parse(stdout) as Array<{ filename: string; content: string }>;
    expect(outputs.map((output) => output.filename)).toEqual([OUTPUT]);
    const committed = readFileSync(`${root}${OUTPUT}`, 'utf8');
    // toBe would print two 57 kB strings: name the first line that differs instead.
    expect(firstDifferentLine(committed, outputs[0].content)).toBeNull();
  });
});

function firstDifferentLine(committed: string, generated: string): string | null {
  if (committed === generated) return null;
  const a = committed.split('\n');
  const b = generated.split('\n');
  for (let line = 0; line < Math.max(a.length, b.length); line++) {
    if (a[line] !== b[line]) {
      return `line ${line + 1}: committed ${JSON.stringify(a[line])}, generated ${JSON.stringify(b[line])}`;
    }
  }
  return 'the files differ only in line endings';
}
