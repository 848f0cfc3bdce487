import { DataSource } from 'typeorm';
import { postgresDataSourceOptions } from './data-source-options.js';

/**
 * For the TypeORM CLI only (`typeorm migration:show|run|revert -d dist/src/persistence/data-source.js`);
 * the app builds its DataSource in PersistenceModule. The CLI accepts exactly one DataSource export.
 */
const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error(
    'Set DATABASE_URL (e.g. postgres://user:password@localhost:5432/copilot) to run TypeORM CLI ' +
      'commands. The embedded database cannot be reached while the app is not running it.',
  );
}

export default new DataSource({ ...postgresDataSourceOptions({ url }), migrationsRun: false });
