import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ActionsModule } from '../actions/actions.module.js';
import { ServerActionToolSource } from '../actions/server-action-tool-source.js';
import { AgentToolSource } from '../agents/agent-tool-source.js';
import { AgentsModule } from '../agents/agents.module.js';
import { BuiltInAgent } from '../agents/built-in/built-in-agent.js';
import { LlmModule } from '../llm/llm.module.js';
import { FrontendToolSource } from '../tools/frontend-tool-source.js';
import { StateToolSource } from '../tools/state-tool-source.js';
import { ToolSources } from '../tools/tool-sources.js';
import { AgentInvoker } from './agent-invoker.js';
import { AgentStateRecorder } from './agent-state-recorder.js';
import { CopilotRuntimeService } from './copilot-runtime.service.js';
import { RunPolicies } from './run-policies.js';
import { StatelessRuns } from './stateless-runs.service.js';
import { ThreadStateService } from './thread-state.service.js';

/**
 * Orchestration, protocol-neutral: the one run pipeline (CopilotRuntimeService), its policy
 * stages, the built-in agent and the tool sources it offers the model.
 */
@Module({
  imports: [DiscoveryModule, LlmModule, ActionsModule, AgentsModule],
  providers: [
    CopilotRuntimeService,
    StatelessRuns,
    RunPolicies,
    ThreadStateService,
    AgentStateRecorder,
    AgentInvoker,
    BuiltInAgent,
    ToolSources,
    ServerActionToolSource,
    AgentToolSource,
    StateToolSource,
    FrontendToolSource,
  ],
  exports: [CopilotRuntimeService, StatelessRuns, ThreadStateService, AgentStateRecorder, AgentsModule, ToolSources],
})
export class RuntimeModule {}
