import { execute } from '@graphql-tools/executor';
import type { ExecutionArgs } from 'graphql';
import { withHeartbeat } from './heartbeat.js';

/** A `{"hasNext":true}` part carries no data: clients keep their result and wait for more. */
export const EMPTY_PART = Object.freeze({ hasNext: true as const });

/**
 * Apollo's `legacyExperimentalExecuteIncrementally`: @graphql-tools/executor runs @defer/@stream
 * on graphql 16 and yields the legacy incremental format the CopilotKit client (urql) reads.
 * Parts keep flowing during silence (heartbeat), so the stream is never idle for proxies.
 */
export function incrementalExecutor(heartbeatMs: number) {
  return async (args: ExecutionArgs) => {
    const result = await execute(args as Parameters<typeof execute>[0]);
    if (!('initialResult' in result)) return result;
    return {
      initialResult: result.initialResult,
      subsequentResults: withHeartbeat(result.subsequentResults, heartbeatMs, () => EMPTY_PART),
    };
  };
}
