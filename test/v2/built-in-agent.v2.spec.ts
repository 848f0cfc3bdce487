import { HttpAgent } from '@ag-ui/client';
import { EventType, type BaseEvent, type Message } from '@ag-ui/core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule, WeatherActions } from '../support/test-actions.module.js';

/**
 * The built-in agent (`default`) on v2, driven by the real HttpAgent: today's chat sends no
 * follow-up for server-side tools, so the agent sends their results back to the model until it
 * answers (up to maxSteps), and it can change the shared state through upstream's state tools.
 */
describe('v2 built-in agent: server-side tools, maxSteps and shared state', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    // First match wins: the answers to tool results come before the user-message fixtures.
    llm.mock.onToolResult('call-weather', { content: 'It is sunny in Paris, 21 °C.' });
    llm.mock.onMessage('weather in Paris', { toolCalls: [{ id: 'call-weather', name: 'getWeather', arguments: { city: 'Paris' } }] });
    llm.mock.onMessage('loop forever', { toolCalls: [{ name: 'getTime', arguments: {} }] });
    llm.mock.onToolResult('call-state', { content: 'The counter is now 1.' });
    llm.mock.onMessage('count to one', {
      toolCalls: [{ id: 'call-state', name: 'AGUISendStateSnapshot', arguments: { snapshot: { counter: 1 } } }],
    });
    llm.mock.onToolResult('call-delta', { content: 'Added.' });
    llm.mock.onMessage('add an item', {
      toolCalls: [{ id: 'call-delta', name: 'AGUISendStateDelta', arguments: { delta: [{ op: 'add', path: '/items/-', value: 'b' }] } }],
    });
    llm.mock.onMessage('confirm with the user', {
      toolCalls: [
        { id: 'call-time', name: 'getTime', arguments: {} },
        { id: 'call-confirm', name: 'confirm', arguments: { question: 'Sure?' } },
      ],
    });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      imports: [TestActionsModule],
      options: { builtInAgent: { maxSteps: 3 } },
    });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  async function run(threadId: string, text: string, extra: { tools?: any[]; state?: unknown } = {}) {
    const agent = new HttpAgent({ url: `${rt.url}/agent/default/run`, threadId });
    agent.messages = [{ id: `${threadId}-u1`, role: 'user', content: text } as Message];
    if (extra.state !== undefined) agent.setState(extra.state as Record<string, unknown>);
    const events: BaseEvent[] = [];
    const requestsBefore = llm.chatRequests().length;
    await agent.runAgent({ tools: extra.tools ?? [] }, { onEvent: ({ event }) => void events.push(event) });
    return { agent, events, modelCalls: llm.chatRequests().slice(requestsBefore) };
  }

  it('sends a server action result back to the model, which then answers in the same run', async () => {
    const { agent, events, modelCalls } = await run('bi-weather', 'weather in Paris');
    // Consecutive events of one type once (the text arrives in as many chunks as the mock likes).
    const kinds = events.map((e) => e.type).filter((type, i, all) => type !== all[i - 1]);
    expect(kinds).toEqual([
      EventType.RUN_STARTED,
      EventType.TOOL_CALL_START,
      EventType.TOOL_CALL_ARGS,
      EventType.TOOL_CALL_END,
      EventType.TOOL_CALL_RESULT,
      EventType.TEXT_MESSAGE_START,
      EventType.TEXT_MESSAGE_CONTENT,
      EventType.TEXT_MESSAGE_END,
      EventType.RUN_FINISHED,
    ]);
    expect(rt.app.get(WeatherActions).calls.at(-1)?.args).toEqual({ city: 'Paris' });
    expect(modelCalls).toHaveLength(2);
    // The second call reads the first step: the assistant's tool call, then its result.
    const followUp = modelCalls[1]!.messages.slice(-2);
    expect(followUp[0]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call-weather', function: { name: 'getWeather' } }] });
    expect(followUp[1]).toMatchObject({ role: 'tool', tool_call_id: 'call-weather' });
    expect(JSON.parse(String(followUp[1]!.content))).toEqual({ city: 'Paris', tempC: 21, sky: 'sunny' });
    expect(agent.messages.at(-1)).toMatchObject({ role: 'assistant', content: 'It is sunny in Paris, 21 °C.' });
  });

  it('stops after maxSteps model calls when the model keeps calling server tools, and the run still finishes', async () => {
    const { events, modelCalls } = await run('bi-loop', 'loop forever');
    expect(modelCalls).toHaveLength(3);
    expect(events.filter((e) => e.type === EventType.TOOL_CALL_RESULT)).toHaveLength(3);
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
  });

  it('offers the shared-state tools and turns a snapshot into STATE_SNAPSHOT, which the client applies', async () => {
    const { agent, events, modelCalls } = await run('bi-state', 'count to one', { state: { counter: 0 } });
    const offered = modelCalls[0]!.tools?.map((tool) => tool.function.name);
    expect(offered).toEqual(expect.arrayContaining(['getWeather', 'AGUISendStateSnapshot', 'AGUISendStateDelta']));
    expect(events.find((e) => e.type === EventType.STATE_SNAPSHOT)).toMatchObject({ snapshot: { counter: 1 } });
    expect(agent.state).toEqual({ counter: 1 });
    // The model read the state it started from, and its tool's outcome.
    expect(JSON.stringify(modelCalls[0]!.messages)).toContain('{\\"counter\\":0}');
    expect(modelCalls[1]!.messages.at(-1)).toMatchObject({ role: 'tool', content: JSON.stringify({ success: true }) });
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
  });

  it('turns a JSON Patch into STATE_DELTA on the state the client sent', async () => {
    const { agent, events } = await run('bi-delta', 'add an item', { state: { items: ['a'] } });
    expect(events.find((e) => e.type === EventType.STATE_DELTA)).toMatchObject({ delta: [{ op: 'add', path: '/items/-', value: 'b' }] });
    expect(agent.state).toEqual({ items: ['a', 'b'] });
  });

  it('ends the run when the model calls a frontend tool: the client executes it (no second model call)', async () => {
    const confirm = { name: 'confirm', description: 'Ask the user', parameters: { type: 'object', properties: { question: { type: 'string' } } } };
    const { events, modelCalls } = await run('bi-frontend', 'confirm with the user', { tools: [confirm] });
    expect(modelCalls).toHaveLength(1);
    const results = events.filter((e) => e.type === EventType.TOOL_CALL_RESULT) as Array<BaseEvent & { toolCallId: string }>;
    expect(results.map((e) => e.toolCallId)).toEqual(['call-time']);
    expect(events.at(-1)?.type).toBe(EventType.RUN_FINISHED);
  });
});
