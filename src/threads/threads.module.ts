import { Module } from '@nestjs/common';
import { RunsService } from '../runs/runs.service.js';
import { ThreadRetentionService } from './thread-retention.service.js';
import { ThreadsService } from './threads.service.js';

/**
 * Threads as an API: listing, reading, renaming, deleting, forking; the runs on them (RunsService:
 * stop, follow, history, behind the threads' ownership rule); and retention.
 *
 * RunsService lives here, not in the global RunsModule, because it needs ThreadsService and the
 * stores: RunsModule also boots alone (the in-memory runner without PersistenceModule).
 */
@Module({
  providers: [ThreadsService, RunsService, ThreadRetentionService],
  exports: [ThreadsService, RunsService, ThreadRetentionService],
})
export class ThreadsModule {}
