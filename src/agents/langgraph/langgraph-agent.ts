import { setMaxListeners } from 'node:events';
import { AbstractAgent, type AgentConfig } from '@ag-ui/client';
import type { BaseEvent, RunAgentInput } from '@ag-ui/core';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { Observable } from 'rxjs';
import { ANONYMOUS_IDENTITY } from '../../common/request-context.js';
import type { McpTool } from '../../mcp/mcp-toolkit.js';
import type { AgentRuntimeServices, RuntimeAwareAgent } from '../agent-definition.js';
import { runGraph } from './graph-run.js';
import { compiledGraph, graphWithCheckpointer, type CompiledLangGraph, type LangGraphSource } from './graph-source.js';

type AgentEvents = ReturnType<AbstractAgent['run']>;

export interface LangGraphAgentConfig extends AgentConfig {
  /**
   * A compiled graph (`new StateGraph(...)....compile()`, `createReactAgent(...)`), or a StateGraph
   * builder, which is compiled without a checkpointer. Compiled without one, the graph keeps its
   * threads in the runtime's database; compiled with one (or `checkpointer: false`), it keeps that.
   */
  graph: LangGraphSource;
}

/**
 * A LangGraph JS graph run in-process as an AG-UI agent. Register it like any agent:
 *
 *   CopilotRuntimeModule.forRoot({ agents: [{ id: 'researcher', agent: new LangGraphAgent({ graph }) }] })
 *
 * Each run streams the graph on LangGraph thread `input.threadId` (see runGraph and planRun for
 * how requests map to graph input, and CopilotKitConfigurable for the frontend tools a node can
 * bind). The runtime clones the registered instance per run and hands the clone its services.
 */
export class LangGraphAgent extends AbstractAgent implements RuntimeAwareAgent {
  // TS `private`, not `#`: AbstractAgent#clone copies through Object.create, which a `#` field would not survive.
  private graph: CompiledLangGraph;
  private runtimeCheckpointer: BaseCheckpointSaver | undefined;
  private mcp: AgentRuntimeServices['mcp'];
  private runScope: AgentRuntimeServices['run'];
  private activeRuns = new Set<AbortController>();

  constructor({ graph, ...config }: LangGraphAgentConfig) {
    super(config);
    this.graph = compiledGraph(graph);
  }

  /** Uses the runtime's checkpointer unless the graph was compiled with its own. */
  attachRuntime(services: AgentRuntimeServices): void {
    this.runtimeCheckpointer = services.checkpointer;
    this.mcp = services.mcp;
    this.runScope = services.run;
  }

  run(input: RunAgentInput): AgentEvents {
    const events = new Observable<BaseEvent>((subscriber) => {
      const controller = new AbortController();
      // Every node, model call and retry of a run listens on this one signal.
      setMaxListeners(0, controller.signal);
      this.activeRuns.add(controller);
      const graph = graphWithCheckpointer(this.graph, this.runtimeCheckpointer);
      runGraph(
        graph,
        input,
        controller.signal,
        (event) => {
          if (!subscriber.closed) subscriber.next(event);
        },
        { mcp: this.mcpToolsOf(input) },
      )
        .then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        )
        .finally(() => this.activeRuns.delete(controller));
      // Unsubscribing aborts the graph: LangGraph stops between steps and cancels the model call in flight.
      return () => controller.abort();
    });
    // @ag-ui/client pins its own rxjs copy (7.8.1; the app has 7.8.2): the same API under distinct
    // class types. Consumers subscribe to it, or adopt it through Symbol.observable (AbstractAgent's
    // runAgent does), both of which work across the copies.
    return events as unknown as AgentEvents;
  }

  /**
   * The run's MCP tools for `mcpTools(config)`, for the request the runtime created this instance
   * for (its identity and headers reach per-request MCP headers), or, outside a runtime run, for
   * an anonymous caller with the input's forwarded props.
   */
  private mcpToolsOf(input: RunAgentInput): (() => Promise<McpTool[]>) | undefined {
    const mcp = this.mcp;
    if (!mcp) return undefined;
    const scope = this.runScope ?? {
      identity: ANONYMOUS_IDENTITY,
      requestHeaders: {},
      properties: (input.forwardedProps as Record<string, unknown> | undefined) ?? {},
    };
    let listed: Promise<McpTool[]> | undefined;
    return () => (listed ??= mcp.tools(scope));
  }

  /** Aborts this instance's runs; their observables error with the AbortError. */
  override abortRun(): void {
    for (const controller of this.activeRuns) controller.abort();
  }

  /** A new instance on the same graph and attached checkpointer, with no runs of its own. */
  override clone(): LangGraphAgent {
    const clone = super.clone() as LangGraphAgent;
    clone.graph = this.graph;
    clone.runtimeCheckpointer = this.runtimeCheckpointer;
    clone.mcp = this.mcp;
    clone.runScope = undefined;
    clone.activeRuns = new Set();
    return clone;
  }
}
