import { CopilotRuntimeClient, Role, TextMessage } from '@copilotkit/runtime-client-gql';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { chatInput, clientRequestBody, clientRequestHeaders, messagesOf, streamResponse, textOf } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { parseSse, postJson, runInput, types, userMessage } from '../v2/support/v2-client.js';

const JUDGE = 'judge-mini';

/**
 * Self-hosted guardrails: the operator's topic lists, judged by a small model through LangChain
 * (aimock answering as the judge, told apart from the main model by its model name), deny
 * patterns checked without any model, verdicts cached per input.
 */
describe('guardrails, self-hosted: operator topic lists judged by a model', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let client: CopilotRuntimeClient;
  const judgeCalls = () => llm.chatRequests().filter((body) => body.model === JUDGE);
  const mainCalls = () => llm.chatRequests().filter((body) => body.model !== JUDGE);

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.on({ model: JUDGE, userMessage: 'weapons' }, { content: '{"status":"denied","reason":"Weapons are not a permitted topic."}' });
    llm.mock.on({ model: JUDGE, userMessage: 'UNSURE' }, { content: 'Hmm, hard to say.' });
    // Models like to wrap JSON in a fence: accepted.
    llm.mock.on({ model: JUDGE }, { content: '```json\n{"status":"allowed"}\n```' });
    llm.mock.onMessage(/.*/, { content: 'Here is a cake recipe.' });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: {
        guardrails: {
          timeoutMs: 5_000,
          selfHosted: { allowTopics: ['cooking'], denyTopics: ['weapons'], denyPatterns: ['\\bssn\\b'], model: JUDGE },
        },
      },
    });
    client = new CopilotRuntimeClient({ url: rt.url });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  const ask = (threadId: string, text: string, extra: Record<string, unknown> = {}) =>
    streamResponse(client, { data: { ...chatInput({ threadId, messages: [new TextMessage({ id: `${threadId}-u1`, role: Role.User, content: text })] }), ...extra } as any });

  it('denied by the judging model: the v1 denial shape, the main model never called', async () => {
    const main = mainCalls().length;
    const { final } = await ask('sh-denied', 'how do I build weapons');
    expect(final.status).toEqual({
      __typename: 'FailedResponseStatus',
      code: 'Failed',
      reason: 'GUARDRAILS_VALIDATION_FAILED',
      details: { guardrailsReason: 'Weapons are not a permitted topic.' },
    });
    expect(messagesOf(final)[0]).toMatchObject({
      content: [],
      status: { reason: 'Interrupted due to Guardrails validation failure. Reason: Weapons are not a permitted topic.' },
    });
    expect(mainCalls()).toHaveLength(main);
    const judged = judgeCalls().at(-1)!;
    expect(judged.temperature).toBe(0);
    expect(JSON.stringify(judged.messages[0])).toContain('Allowed topics: [\\"cooking\\"]');
    expect(JSON.stringify(judged.messages[0])).toContain('Denied topics: [\\"weapons\\"]');
    expect(judged.messages.at(-1)).toMatchObject({ role: 'user', content: 'how do I build weapons' });
  });

  it('allowed: the judge once, then the main model; the same input again reuses the cached verdict', async () => {
    const judged = judgeCalls().length;
    const first = await ask('sh-allowed-1', 'how do I bake a cake');
    expect(textOf(first.final.messages[0])).toBe('Here is a cake recipe.');
    expect(judgeCalls()).toHaveLength(judged + 1);
    const second = await ask('sh-allowed-2', 'how do I bake a cake');
    expect(textOf(second.final.messages[0])).toBe('Here is a cake recipe.');
    expect(judgeCalls()).toHaveLength(judged + 1);
  });

  it('a deny pattern denies without asking any model', async () => {
    const calls = llm.chatRequests().length;
    const { final } = await ask('sh-pattern', 'my SSN is 123-45-6789, cook me something');
    expect(final.status).toMatchObject({ reason: 'GUARDRAILS_VALIDATION_FAILED', details: { guardrailsReason: 'The message matches a denied pattern (\\bssn\\b).' } });
    expect(llm.chatRequests()).toHaveLength(calls);
  });

  it('the client cannot loosen the operator\'s lists: its own cloud lists are ignored, no key is needed', async () => {
    const main = mainCalls().length;
    const { final } = await ask('sh-client-lists', 'weapons for cooking', {
      cloud: { guardrails: { inputValidationRules: { allowList: ['weapons'], denyList: [] } } },
    });
    expect(final.status).toMatchObject({ reason: 'GUARDRAILS_VALIDATION_FAILED' });
    expect(mainCalls()).toHaveLength(main);
  });

  it('a judge that answers without a verdict: refused with GUARDRAILS_UNAVAILABLE (fail closed), nothing spent on the main model', async () => {
    const main = mainCalls().length;
    const response = await fetch(rt.url, {
      method: 'POST',
      headers: clientRequestHeaders('application/json'),
      body: clientRequestBody(chatInput({ threadId: 'sh-unsure', messages: [new TextMessage({ id: 'u1', role: Role.User, content: 'UNSURE cooking' })] })),
    });
    const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('GUARDRAILS_UNAVAILABLE');
    expect(body.errors[0]!.message).toContain('without a verdict');
    expect(mainCalls()).toHaveLength(main);
  });

  it('v2: the denial streams as the assistant message and RUN_ERROR with the code', async () => {
    const reply = await postJson(`${rt.url}/agent/default/run`, runInput({ threadId: 'sh-v2', runId: 'sh-v2-r1', messages: [userMessage('u1', 'weapons again')] }));
    expect(reply.status).toBe(200);
    const { events } = parseSse(reply.text);
    expect(types(events)).toEqual(['RUN_STARTED', 'TEXT_MESSAGE_START', 'TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_END', 'RUN_ERROR']);
    expect(events[2]).toMatchObject({ delta: 'Interrupted due to Guardrails validation failure. Reason: Weapons are not a permitted topic.' });
    expect(events.at(-1)).toMatchObject({ code: 'GUARDRAILS_VALIDATION_FAILED' });
  });
});
