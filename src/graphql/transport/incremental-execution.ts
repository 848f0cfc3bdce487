import { execute } from '@graphql-tools/executor';
import type { ExecutionArgs } from 'graphql';
import { inTurnBatches } from '../../common/in-turn-batches.js';
import { withHeartbeat } from '../../http/heartbeat.js';
import { mergeSubsequentPayloads } from './legacy-incremental.js';

/** A `{"hasNext":true}` part carries no data: clients keep their result and wait for more. */
export const EMPTY_PART = Object.freeze({ hasNext: true as const });

const FINAL_PART = Object.freeze({ hasNext: false as const });

/** Payloads merged into one part at most: a part stays a size the client parses in one go. */
export const MAX_PAYLOADS_PER_PART = { maxWeight: 512 };

/**
 * Apollo's `legacyExperimentalExecuteIncrementally`: @graphql-tools/executor runs @defer/@stream
 * on graphql 16 and yields the legacy incremental format the CopilotKit client (urql) reads.
 * Every payload the executor has ready in one turn of the event loop leaves as one part (a burst
 * of tokens is one write, not one per token: the client parses a few parts instead of a thousand).
 * Parts keep flowing during silence (heartbeat), so the stream is never idle for proxies.
 */
export function incrementalExecutor(heartbeatMs: number) {
  return async (args: ExecutionArgs) => {
    const result = await execute(args as Parameters<typeof execute>[0]);
    if (!('initialResult' in result)) return result;
    return {
      initialResult: result.initialResult,
      subsequentResults: withHeartbeat(
        endWithBarePart(inTurnBatches(result.subsequentResults, mergeSubsequentPayloads, MAX_PAYLOADS_PER_PART)),
        heartbeatMs,
        () => EMPTY_PART,
      ),
    };
  };
}

/**
 * The executor puts `hasNext:false` on its last data part; the upstream server (graphql-js
 * 17.0.0-alpha.2) ends with a bare `{"hasNext":false}` part instead. Same meaning, same bytes as
 * the captured contract.
 */
async function* endWithBarePart<T extends { hasNext: boolean }>(parts: AsyncIterable<T>): AsyncGenerator<T> {
  for await (const part of parts) {
    if (part.hasNext || Object.keys(part).length === 1) {
      yield part;
    } else {
      yield { ...part, hasNext: true };
      yield FINAL_PART as T;
    }
  }
}
