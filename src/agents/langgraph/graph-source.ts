import type { RunnableConfig } from '@langchain/core/runnables';
import type { StateSnapshot } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';

/**
 * The parts of a compiled LangGraph JS graph (`StateGraph#compile()`, `createReactAgent`, ...)
 * that the agent uses. Structural, so graphs of any state type fit without casts.
 */
export interface CompiledLangGraph {
  /** `undefined`: compiled without one; `false`: checkpointing disabled on purpose. */
  checkpointer?: BaseCheckpointSaver | boolean;
  stream(input: unknown, options?: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
  getState(config: RunnableConfig): Promise<StateSnapshot>;
  withConfig(config: RunnableConfig): unknown;
}

/** A StateGraph that was not compiled yet: the agent compiles it (without a checkpointer). */
export interface LangGraphBuilder {
  compile(options?: Record<string, unknown>): CompiledLangGraph;
}

export type LangGraphSource = CompiledLangGraph | LangGraphBuilder;

export function compiledGraph(source: LangGraphSource): CompiledLangGraph {
  return 'stream' in source ? source : source.compile();
}

/**
 * The graph a run uses: the user's own checkpointer when they compiled with one (or disabled it
 * with `false`), else the runtime's. The user's graph object is never mutated (it may be served
 * under several ids or used elsewhere in their app): `withConfig({})` is LangGraph's own copy of a
 * compiled graph, and only the copy gets the checkpointer. Copies are cached per graph and saver,
 * since every run creates an agent instance.
 */
export function graphWithCheckpointer(graph: CompiledLangGraph, runtimeSaver?: BaseCheckpointSaver): CompiledLangGraph {
  if (graph.checkpointer !== undefined || runtimeSaver === undefined) return graph;
  let bySaver = copies.get(graph);
  if (bySaver === undefined) {
    bySaver = new WeakMap();
    copies.set(graph, bySaver);
  }
  let copy = bySaver.get(runtimeSaver);
  if (copy === undefined) {
    copy = graph.withConfig({}) as CompiledLangGraph;
    copy.checkpointer = runtimeSaver;
    bySaver.set(runtimeSaver, copy);
  }
  return copy;
}

const copies = new WeakMap<CompiledLangGraph, WeakMap<BaseCheckpointSaver, CompiledLangGraph>>();

/** True when the graph will persist thread state (so the thread's checkpoint can be read). */
export function hasCheckpointer(graph: CompiledLangGraph): boolean {
  return typeof graph.checkpointer === 'object' && graph.checkpointer !== null;
}
