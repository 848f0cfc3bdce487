import { Module } from '@nestjs/common';
import { ActionsModule } from '../actions/actions.module.js';
import { AgentsModule } from '../agents/agents.module.js';
import { LlmModule } from '../llm/llm.module.js';
import { AgentInvoker } from './agent-invoker.js';
import { AgentStateRecorder } from './agent-state-recorder.js';
import { CopilotRuntimeService } from './copilot-runtime.service.js';
import { ThreadStateService } from './thread-state.service.js';

/** Orchestration: a request becomes a run; a run's events come out. Protocol-neutral. */
@Module({
  imports: [LlmModule, ActionsModule, AgentsModule],
  providers: [CopilotRuntimeService, ThreadStateService, AgentStateRecorder, AgentInvoker],
  exports: [CopilotRuntimeService, ThreadStateService, AgentStateRecorder, AgentsModule],
})
export class RuntimeModule {}
