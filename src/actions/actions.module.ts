import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ActionExecutor } from './action-executor.js';
import { ActionRegistry } from './action-registry.js';

/** Server-side actions: registration (options and `@CopilotAction()`), validation, execution. */
@Module({
  imports: [DiscoveryModule],
  providers: [ActionRegistry, ActionExecutor],
  exports: [ActionRegistry, ActionExecutor],
})
export class ActionsModule {}
