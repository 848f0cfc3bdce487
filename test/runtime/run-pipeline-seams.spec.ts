import { HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import {
  CopilotRunPolicy,
  CopilotRuntimeError,
  CopilotToolSource,
  TOOL_SOURCE_ORDER,
  type RunEnd,
  type RunPolicyStage,
  type RunScope,
  type RuntimeTool,
  type ToolRequest,
  type ToolSource,
} from '../../src/index.js';
import { ConversationStore } from '../../src/ports/conversation-store.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { capturedAgentScript, ScriptedAgent } from '../support/scripted-agent.js';
import { chatInput, streamResponse } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { postJson, runInput, userMessage } from '../v2/support/v2-client.js';

/** A user's policy stage: refuses runs without a tenant, tags the others, hears how they end. */
@Injectable()
@CopilotRunPolicy()
class TenantPolicy implements RunPolicyStage {
  readonly name = 'tenant';
  readonly seen: RunScope[] = [];
  readonly ends: Array<{ runId: string; end: RunEnd }> = [];

  beforeRun(run: RunScope): void {
    this.seen.push(run);
    if (run.properties.tenant === undefined) throw new CopilotRuntimeError('AUTHENTICATION_ERROR', 'A tenant is required.');
    run.properties.checkedBy = 'tenant-policy';
  }

  afterRun(run: RunScope, end: RunEnd): void {
    this.ends.push({ runId: run.runId, end });
  }
}

/** A user's tool source: one server-side tool that sees the properties the policy set. */
@Injectable()
@CopilotToolSource()
class OrdersToolSource implements ToolSource {
  readonly name = 'orders';
  readonly order = TOOL_SOURCE_ORDER.remoteEndpoints;
  readonly calls: Array<{ args: string; properties: unknown }> = [];

  tools(_request: ToolRequest): RuntimeTool[] {
    return [
      {
        kind: 'server',
        definition: { name: 'lookupOrder', description: 'An order by id', parameters: { type: 'object', properties: { id: { type: 'string' } } } },
        execute: async (args, context) => {
          this.calls.push({ args, properties: context.properties });
          return { content: JSON.stringify({ id: 'o-1', status: 'shipped' }) };
        },
      },
    ];
  }
}

@Module({ providers: [TenantPolicy, OrdersToolSource] })
class UserExtensionsModule {}

describe('the run pipeline seams: policy stages and tool sources from a user module, on both protocols', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let policy: TenantPolicy;

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onToolResult('call-order', { content: 'Order o-1 has shipped.' });
    llm.mock.onMessage('where is my order', { toolCalls: [{ id: 'call-order', name: 'lookupOrder', arguments: { id: 'o-1' } }] });
    llm.mock.onMessage('hello', { content: 'Hi!' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [UserExtensionsModule] });
    policy = rt.app.get(TenantPolicy);
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('v1: a refusing before stage is a GraphQL error with its code; no model call, nothing stored', async () => {
    const client = new CopilotRuntimeClient({ url: rt.url });
    const modelCalls = llm.chatRequests().length;
    const data = chatInput({ threadId: 'seams-v1-refused', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'hello' })] });
    const { error } = await streamResponse(client, { data, properties: {} });
    expect(String(error)).toContain('A tenant is required.');
    expect(policy.seen.at(-1)).toMatchObject({ protocol: 'v1', agentId: 'default', threadId: 'seams-v1-refused' });
    expect(llm.chatRequests()).toHaveLength(modelCalls);
    expect(await rt.app.get(ConversationStore).findThread('seams-v1-refused')).toBeNull();
  });

  it('v2: the same stage answers with the error code\'s HTTP status before any stream', async () => {
    const reply = await postJson(
      `${rt.url}/agent/default/run`,
      runInput({ threadId: 'seams-v2-refused', runId: 'seams-v2-r1', messages: [userMessage('u1', 'hello')] }),
    );
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'AUTHENTICATION_ERROR', message: 'A tenant is required.' });
    expect(policy.seen.at(-1)).toMatchObject({ protocol: 'v2', runId: 'seams-v2-r1' });
  });

  it('v2: a tool source of a user module is offered and executed, with the properties the policy changed; after stages hear the end', async () => {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId: 'seams-v2-tool' });
    agent.messages = [{ id: 'u1', role: 'user', content: 'where is my order' } as Message];
    const events: BaseEvent[] = [];
    await agent.runAgent({ forwardedProps: { tenant: 'acme' } }, { onEvent: ({ event }) => void events.push(event) });

    const orders = rt.app.get(OrdersToolSource);
    expect(orders.calls).toEqual([{ args: '{"id":"o-1"}', properties: { tenant: 'acme', checkedBy: 'tenant-policy' } }]);
    expect(events.find((e) => e.type === EventType.TOOL_CALL_RESULT)).toMatchObject({ toolCallId: 'call-order' });
    expect(agent.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'Order o-1 has shipped.' });

    const runId = (events[0] as BaseEvent & { runId: string }).runId;
    // Heard once the run is recorded, which is before its stream ends.
    const ended = policy.ends.find((entry) => entry.runId === runId)!.end;
    expect(ended.status).toBe('succeeded');
    expect(ended.outputMessages.at(-1)).toMatchObject({ role: 'assistant', content: 'Order o-1 has shipped.' });
  });
});

describe('an agent registered as `default` replaces the built-in agent on every protocol', () => {
  let rt: RuntimeApp;

  beforeAll(async () => {
    // No model configured: only the registered agent can answer.
    rt = await startRuntimeApp({ options: { agents: [{ id: 'default', agent: new ScriptedAgent(capturedAgentScript) }] } });
  });

  afterAll(async () => {
    await rt?.close();
  });

  it('v2 /agent/default/run runs it, and info names its class', async () => {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId: 'replaced-v2' });
    agent.messages = [{ id: 'u1', role: 'user', content: 'hi' } as Message];
    await agent.runAgent();
    expect(agent.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'AG-UI says hi' });
    const info = (await (await fetch(`${rt.url}/info`)).json()) as { agents: Record<string, unknown> };
    expect(info.agents.default).toMatchObject({ className: 'ScriptedAgent' });
  });

  it('a v1 chat without agentSession runs it too', async () => {
    const client = new CopilotRuntimeClient({ url: rt.url });
    const data = chatInput({ threadId: 'replaced-v1', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'hi' })] });
    const { final } = await streamResponse(client, { data });
    expect(final.status).toMatchObject({ code: 'Success' });
    const texts = final.messages.filter((m: any) => m.__typename === 'TextMessageOutput').map((m: any) => m.content.join(''));
    expect(texts).toEqual(['AG-UI says hi']);
  });
});
