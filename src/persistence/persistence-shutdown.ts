import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConversationWriter } from './conversation-writer.js';
import { DatabaseEndpoint } from './database-endpoint.js';

/**
 * The one order that loses nothing: queued writes first, then the pool, then the embedded server
 * the pool was connected to. TypeORM's own shutdown hook finds the DataSource already closed.
 */
@Injectable()
export class PersistenceShutdown implements OnApplicationShutdown {
  constructor(
    private readonly writer: ConversationWriter,
    private readonly dataSource: DataSource,
    private readonly endpoint: DatabaseEndpoint,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.writer.drain();
      if (this.dataSource.isInitialized) await this.dataSource.destroy();
    } finally {
      await this.endpoint.close();
    }
  }
}
