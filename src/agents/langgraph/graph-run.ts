import type { ErrorCode } from '../../common/errors.js';
import {
  EventType,
  type BaseEvent,
  type RunAgentInput,
  type RunErrorEvent,
  type RunFinishedEvent,
  type RunStartedEvent,
} from '@ag-ui/core';
import { COPILOTKIT_CONFIGURABLE_KEY, type CopilotKitConfigurable } from './copilotkit-configurable.js';
import { planRun } from './graph-input.js';
import { hasCheckpointer, type CompiledLangGraph } from './graph-source.js';
import { GRAPH_STREAM_MODES, GraphStreamMapper, interruptEvent } from './graph-stream-mapper.js';

/** RUN_ERROR code of a graph that threw (a node, the model, the checkpointer). */
export const AGENT_FAILED = 'AGENT_FAILED' satisfies ErrorCode;

/**
 * One run of the graph on thread `input.threadId`, as AG-UI events passed to `emit`, from
 * RUN_STARTED to RUN_FINISHED (also when the graph stops on an interrupt) or RUN_ERROR.
 * Resolves once the graph is done; rejects only when `signal` aborted it (no terminal event then:
 * whoever aborted has stopped listening or wants the abort, not a failure, reported).
 */
export async function runGraph(
  graph: CompiledLangGraph,
  input: RunAgentInput,
  signal: AbortSignal,
  emit: (event: BaseEvent) => void,
  extras: Pick<CopilotKitConfigurable, 'mcp'> = {},
): Promise<void> {
  const { threadId, runId } = input;
  emit({ type: EventType.RUN_STARTED, threadId, runId, timestamp: Date.now() } satisfies RunStartedEvent);
  try {
    const thread = { configurable: { thread_id: threadId } };
    const snapshot = hasCheckpointer(graph) ? await graph.getState(thread) : undefined;
    const plan = planRun(input, snapshot);

    if (plan.kind === 'surface-interrupts') {
      for (const interrupt of plan.interrupts) emit(interruptEvent(interrupt));
    } else {
      const copilotkit: CopilotKitConfigurable = { tools: input.tools ?? [], context: input.context ?? [], ...extras };
      const stream = await graph.stream(plan.input, {
        configurable: { ...thread.configurable, [COPILOTKIT_CONFIGURABLE_KEY]: copilotkit },
        streamMode: [...GRAPH_STREAM_MODES],
        signal,
      });
      const mapper = new GraphStreamMapper();
      for await (const chunk of stream) for (const event of mapper.map(chunk)) emit(event);
      for (const event of mapper.finish()) emit(event);
    }
    emit({ type: EventType.RUN_FINISHED, threadId, runId, timestamp: Date.now() } satisfies RunFinishedEvent);
  } catch (error) {
    // LangGraph rejects with its own Error('Aborted'); the signal's reason is the standard
    // AbortError, which AbstractAgent#runAgent and other consumers recognise as "not a failure".
    if (signal.aborted) throw signal.reason ?? error;
    emit({
      type: EventType.RUN_ERROR,
      message: error instanceof Error ? error.message : String(error),
      code: AGENT_FAILED,
      timestamp: Date.now(),
    } satisfies RunErrorEvent);
  }
}
