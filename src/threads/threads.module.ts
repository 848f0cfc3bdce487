import { Module } from '@nestjs/common';
import { ThreadRetentionService } from './thread-retention.service.js';
import { ThreadsService } from './threads.service.js';

/** Threads as an API: listing, reading, renaming, deleting, forking; and retention. */
@Module({
  providers: [ThreadsService, ThreadRetentionService],
  exports: [ThreadsService, ThreadRetentionService],
})
export class ThreadsModule {}
