import type { AgentBehaviour, AgentCall } from '../agents/agent-call.js';
import type { RequestContext } from '../common/request-context.js';
import type { TokenUsage } from '../ports/conversation-store.js';
import type { RunProtocol, RunScope } from './run-policy.js';
import type { RunRequest } from './run-request.js';
import { runLogContext } from '../observability/logging/log-context.js';

/**
 * The run as the policy stages first see it: the request as understood, with copies of what a
 * before stage may change (properties, forwarded headers, context items).
 */
export function runScopeFor(ctx: RequestContext, agentId: string, request: RunRequest, protocol: RunProtocol): RunScope {
  const { threadId, runId } = request.input;
  return {
    ctx,
    protocol,
    agentId,
    threadId,
    runId,
    input: request.input,
    url: request.url,
    cloud: request.cloud ?? null,
    properties: { ...request.properties },
    forwardedHeaders: { ...request.forwardedHeaders },
    context: [...(request.input.context ?? [])],
  };
}

/**
 * The agent's view of the run once the before stages have passed it: their properties, forwarded
 * headers and context items, not the request's.
 */
export function agentCallFor(
  scope: RunScope,
  request: RunRequest,
  behaviour: AgentBehaviour,
  reportUsage: (usage: TokenUsage | null) => void,
): AgentCall {
  return {
    identity: scope.ctx.identity,
    requestHeaders: scope.ctx.headers,
    input: { ...request.input, context: scope.context },
    properties: scope.properties,
    forwardedHeaders: scope.forwardedHeaders,
    forwardedParameters: request.forwardedParameters,
    behaviour,
    reportUsage,
    log: runLogContext(scope),
  };
}
