import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `schema/` folder ships beside `src/` and `dist/`; walk up from this file to find it, so
 * the same code works from sources (tests), from the build, and from node_modules.
 */
export function schemaDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'schema');
    if (existsSync(join(candidate, 'copilot-response.graphql'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('Cannot find the schema/ folder of copilot-runtime-nest.');
}
