import 'reflect-metadata';
import { API_KEYS_USAGE, runApiKeysCommand } from './cli/api-keys-command.js';
import { InvalidEnvironmentError, parseEnvironment } from './config/environment.js';

/**
 * The runtime's admin commands, on the database the server uses (DATABASE_URL, or the embedded
 * one in DATA_DIR):
 *   node dist/src/cli.js api-keys create --owner user:alice --name ci-bot [--expires-in 30d]
 *   node dist/src/cli.js api-keys list [--owner user:alice] [--json]
 *   node dist/src/cli.js api-keys revoke <key id>
 */
async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (group !== 'api-keys') {
    console.error(API_KEYS_USAGE);
    return 2;
  }
  const env = parseEnvironment();
  return runApiKeysCommand(
    rest,
    { url: env.DATABASE_URL, dataDir: env.DATA_DIR, poolSize: 2 },
    { out: (line) => console.log(line), err: (line) => console.error(line) },
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof InvalidEnvironmentError ? error.message : `api-keys failed: ${(error as Error)?.message ?? error}`);
    process.exit(1);
  },
);
