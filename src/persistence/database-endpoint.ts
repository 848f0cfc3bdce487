import { Logger } from '@nestjs/common';
import type { DatabaseOptions } from '../config/runtime-options.js';
import { DEFAULT_ADMISSION_QUEUE_LENGTH, DEFAULT_ADMISSION_WAIT_MS } from './admission-queue.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { redactDatabaseUrl } from './redact-database-url.js';

const DEFAULT_DATA_DIR = '.data';
const DEFAULT_POOL_SIZE = 10;
/** Room for connections beyond the pool: the runner's LISTEN client, one opening while another closes. */
const EMBEDDED_SPARE_CONNECTIONS = 3;
/**
 * PGlite is one PostgreSQL session behind a socket: with several pooled connections, extended-
 * protocol messages (Parse/Bind/Execute) of concurrent queries interleave and fail ("bind message
 * supplies N parameters…", "portal does not exist"), seen under 16 concurrent streams. One pooled
 * connection serializes them, which is what PGlite does anyway.
 */
const EMBEDDED_POOL_SIZE = 1;
const EMBEDDED_ADMISSION_WAIT_MS = 60_000;

/** The PostgreSQL the app talks to: the configured server, or an embedded one it runs itself. */
export class DatabaseEndpoint {
  private static readonly logger = new Logger('Persistence');

  private constructor(
    readonly url: string,
    readonly poolSize: number,
    private readonly embedded: EmbeddedPostgres | null,
    /** How long a query waits for a pooled connection (the admission's bounded wait). */
    readonly acquireTimeoutMs?: number,
    /** The bounds of the queue of run admissions (admission-queue.ts). */
    readonly admission: { maxQueued: number; maxWaitMs: number } = {
      maxQueued: DEFAULT_ADMISSION_QUEUE_LENGTH,
      maxWaitMs: DEFAULT_ADMISSION_WAIT_MS,
    },
  ) {}

  /** True for the embedded PGlite: queries queue for its single connection instead of failing fast. */
  get isEmbedded(): boolean {
    return this.embedded !== null;
  }

  static async open(options: DatabaseOptions = {}): Promise<DatabaseEndpoint> {
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new Error(`database.poolSize must be a positive integer, got ${poolSize}`);
    }
    const admission = {
      maxQueued: options.admissionQueueLength ?? DEFAULT_ADMISSION_QUEUE_LENGTH,
      // The embedded database's one connection is shared: waiting for it is normal under load
      // (as its pool's acquire timeout, 60 s).
      maxWaitMs: options.admissionWaitMs ?? (options.url ? DEFAULT_ADMISSION_WAIT_MS : EMBEDDED_ADMISSION_WAIT_MS),
    };
    for (const [name, value] of Object.entries({ admissionQueueLength: admission.maxQueued, admissionWaitMs: admission.maxWaitMs })) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`database.${name} must be a positive integer, got ${value}`);
    }
    if (options.url) {
      this.logger.log(`Using PostgreSQL at ${redactDatabaseUrl(options.url)}`);
      return new DatabaseEndpoint(options.url, poolSize, null, options.acquireTimeoutMs, admission);
    }
    const embedded = await EmbeddedPostgres.start({
      dataDir: options.dataDir ?? DEFAULT_DATA_DIR,
      maxConnections: EMBEDDED_POOL_SIZE + EMBEDDED_SPARE_CONNECTIONS,
    });
    this.logger.log(`Using embedded PostgreSQL (PGlite) in ${embedded.directory}`);
    return new DatabaseEndpoint(embedded.url, EMBEDDED_POOL_SIZE, embedded, undefined, admission);
  }

  /** Stops the embedded server, if any; call after the pool has closed. */
  async close(): Promise<void> {
    await this.embedded?.stop();
  }
}
