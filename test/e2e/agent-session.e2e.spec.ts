import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { ActionInputAvailability, chatInput, messagesOf, streamResponse, textOf } from '../support/copilot-client.js';
import { threadEvents, wsClient } from '../support/durable-api.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { ScriptedAgent, capturedAgentScript } from '../support/scripted-agent.js';

/**
 * v1 agent sessions with the real client against an in-process AG-UI agent: the projection of
 * steps, state and interrupts onto AgentStateMessages and metaEvents (compare
 * contract/v1/wire/agui_agent_session.wire.json).
 */
describe('v1 agent session (in-process AG-UI agent)', () => {
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const agent = new ScriptedAgent(capturedAgentScript);

  beforeAll(async () => {
    rt = await startRuntimeApp({ options: { agents: [{ id: 'agui_agent', description: 'Plans things', agent }] } });
    client = new CopilotRuntimeClient({ url: rt.url });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('availableAgents lists the registered agent with its stable id', async () => {
    const agents = await client.availableAgents().toPromise();
    expect(agents.data?.availableAgents.agents).toEqual([
      { __typename: 'Agent', id: 'agui_agent', name: 'agui_agent', description: 'Plans things' },
    ]);
  });

  it('streams state messages, text, the tool call and the interrupt, and ends with running:false', async () => {
    const data = {
      ...chatInput({
        threadId: 'agent-thread-1',
        messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'run the agui agent' })],
        actions: [
          { name: 'showAlert', description: 'alert', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Enabled },
          { name: 'remoteOnly', description: 'remote', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Remote },
          { name: 'off', description: 'disabled', jsonSchema: '{"type":"object","properties":{}}', available: ActionInputAvailability.Disabled },
        ],
      }),
      agentSession: { agentName: 'agui_agent' },
      agentStates: [{ agentName: 'agui_agent', state: '{"counter":0}' }],
    };
    const { final, error } = await streamResponse(client, { data, properties: { authorization: 'abc' } });
    expect(error).toBeUndefined();
    expect(final.status).toMatchObject({ code: 'Success' });
    const messages = messagesOf(final);
    expect(messages.map((m) => m.__typename)).toEqual([
      'AgentStateMessageOutput',
      'AgentStateMessageOutput',
      'TextMessageOutput',
      'AgentStateMessageOutput',
      'ActionExecutionMessageOutput',
      'AgentStateMessageOutput',
      'AgentStateMessageOutput',
    ]);
    const states = messages.filter((m) => m.__typename === 'AgentStateMessageOutput');
    expect(states.map((m) => JSON.parse(m.state))).toEqual([
      { counter: 0 },
      { plan: ['a', 'b'], counter: 1 },
      { plan: ['a', 'b'], counter: 2 },
      { plan: ['a', 'b'], counter: 2 },
      { plan: ['a', 'b'], counter: 2 },
    ]);
    expect(states.map((m) => [m.nodeName, m.active, m.running])).toEqual([
      ['plan_node', true, true],
      ['plan_node', true, true],
      ['plan_node', true, true],
      ['plan_node', false, true],
      ['plan_node', false, false],
    ]);
    expect(states.every((m) => m.agentName === 'agui_agent' && m.threadId === 'agent-thread-1')).toBe(true);
    expect(textOf(messages[2])).toBe('AG-UI says hi');
    expect(messages[4]).toMatchObject({ name: 'showAlert', parentMessageId: 'agui-msg-1' });
    expect(final.metaEvents).toEqual([
      expect.objectContaining({ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}' }),
    ]);

    const input = agent.inputs.at(-1)!;
    expect(input.tools.map((t) => t.name)).toEqual(['showAlert', 'remoteOnly']);
    expect(input.state).toEqual({ counter: 0 });
    expect(input.forwardedProps).toEqual({ authorization: 'abc' });
    expect(input.messages).toEqual([{ id: 'u1', role: 'user', content: 'run the agui agent' }]);
  });

  it("answers an interrupt: the metaEvent's response reaches the agent as forwardedProps.command.resume", async () => {
    const data = {
      ...chatInput({ threadId: 'agent-thread-2', messages: [new TextMessage({ id: 'u2', role: Role.User, content: 'go' })] }),
      agentSession: { agentName: 'agui_agent', nodeName: 'plan_node' },
      metaEvents: [{ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}', response: 'yes' }],
    };
    const { final } = await streamResponse(client, { data: data as never });
    expect(final.status).toMatchObject({ code: 'Success' });
    expect(agent.inputs.at(-1)!.forwardedProps).toEqual({
      nodeName: 'plan_node',
      command: { resume: 'yes', interruptEvent: '{"question":"Approve?"}' },
    });
  });

  it('threadEvents replays the session as flat events: agent state and the interrupt included', async () => {
    const ws = wsClient(rt.wsUrl);
    try {
      const { events, errors } = await threadEvents(ws, 'agent-thread-1', 0, (event) =>
        event.type === 'RUN_FINISHED' ? 'stop' : undefined,
      );
      expect(errors).toBeUndefined();
      const states = events.filter((e) => e.__typename === 'AgentStateEvent');
      expect(states.map((e) => JSON.parse(e.state).counter)).toEqual([0, 1, 2, 2]);
      expect(states.every((e) => e.agentName === 'agui_agent' && e.nodeName === 'plan_node')).toBe(true);
      expect(events.filter((e) => e.__typename === 'MetaEventEvent')).toEqual([
        expect.objectContaining({ name: 'LangGraphInterruptEvent', value: '{"question":"Approve?"}' }),
      ]);
      const sequences = events.map((e) => e.sequence);
      expect(new Set(sequences).size).toBe(sequences.length);
      expect(events.at(-1)).toMatchObject({ __typename: 'RunFinishedEvent', status: { code: 'Success' } });
    } finally {
      await ws.dispose();
    }
  });

  it('restores the last state of the thread when the next request brings none', async () => {
    await rt.persisted();
    const state = await client
      .loadAgentState({ threadId: 'agent-thread-1', agentName: 'agui_agent' })
      .toPromise();
    expect(state.data?.loadAgentState.threadExists).toBe(true);
    expect(JSON.parse(state.data!.loadAgentState.state)).toEqual({ plan: ['a', 'b'], counter: 2 });
  });
});
