import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';

/**
 * Where LangGraph graphs keep their checkpoints. PersistenceModule provides it on the runtime's
 * own database; without it (an app or test without persistence) graphs keep what they were
 * compiled with.
 */
export abstract class LangGraphCheckpointerSource {
  /** A saver whose tables are set up, ready for graphs. Called once, at boot. */
  abstract open(): Promise<BaseCheckpointSaver>;
}
