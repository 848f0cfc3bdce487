import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { DataDirLock } from './data-dir-lock.js';

export interface EmbeddedPostgresOptions {
  /** Parent directory: PGlite keeps its files in `<dataDir>/pglite`. */
  dataDir: string;
  /** Must exceed the pool size: the socket server refuses connections beyond it. */
  maxConnections: number;
}

/**
 * PostgreSQL without a server to install: PGlite (PostgreSQL in WebAssembly) behind a local
 * socket speaking the wire protocol, so the regular `pg` driver, TypeORM's postgres driver and
 * the same migrations work unchanged. One process per data directory.
 */
export class EmbeddedPostgres {
  private stopped = false;

  private constructor(
    private readonly db: PGlite,
    private readonly server: PGLiteSocketServer,
    private readonly lock: DataDirLock,
    /** PGlite's own directory. */
    readonly directory: string,
    /** A postgres:// URL on 127.0.0.1 and a port chosen by the OS. */
    readonly url: string,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    const dataDir = resolve(options.dataDir);
    const directory = join(dataDir, 'pglite');
    // PGlite does not create missing parent directories.
    mkdirSync(directory, { recursive: true });
    const lock = DataDirLock.acquire(join(dataDir, 'pglite.lock'), `Data directory ${dataDir}`);

    let db: PGlite | undefined;
    try {
      db = await PGlite.create(directory);
      const server = new PGLiteSocketServer({
        db,
        host: '127.0.0.1',
        port: 0,
        maxConnections: options.maxConnections,
      });
      await server.start();
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      return new EmbeddedPostgres(db, server, lock, directory, url);
    } catch (error) {
      await db?.close().catch(() => undefined);
      lock.release();
      throw error;
    }
  }

  /** Close clients first: stopping drops their connections (and rolls back open transactions). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.server.stop();
      await this.db.close();
    } finally {
      this.lock.release();
    }
  }
}
