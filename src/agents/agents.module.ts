import { Module } from '@nestjs/common';
import { AgentRegistry } from './agent-registry.js';

/** Registered agents (options and decorated providers) and how a run of one is streamed. */
@Module({
  providers: [AgentRegistry],
  exports: [AgentRegistry],
})
export class AgentsModule {}
