import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CopilotKitCore } from '@copilotkit/core';
import { DataSource } from 'typeorm';
import { CopilotRuntimeError } from '../../src/common/errors.js';
import type { RunEnd, RunPolicyStage, RunScope } from '../../src/runtime/run-policy.js';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { eventually, recordFetch } from '../support/copilot-client.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { connectedCore, postJson, pretendBrowser, runInput, userMessage } from './support/v2-client.js';

/**
 * Chat suggestions of today's React client: `@copilotkit/core` 1.74's suggestion engine seeds a run
 * with the chat's messages and context and forces its `copilotkitSuggest` tool. Over REST it posts
 * to `/agent/:id/suggest` (advertised by `info.suggestions`); over the single route it sends an
 * `agent/run`. Either way: the configured model (aimock) through LangChain answers, the run takes
 * the policy stages, and nothing is stored (no thread in the caller's list).
 */
const SUGGESTIONS = [
  { title: 'Ask about Paris', message: 'What is the weather in Paris?' },
  { title: 'Ask about Rome', message: 'And in Rome?' },
];

class RecordingPolicy implements RunPolicyStage {
  readonly name = 'recording';
  readonly before: RunScope[] = [];
  readonly after: RunEnd[] = [];

  beforeRun(run: RunScope): void {
    this.before.push(run);
    if (run.properties.refuse === true) throw new CopilotRuntimeError('BAD_REQUEST', 'Refused by the recording policy.');
  }

  afterRun(_run: RunScope, end: RunEnd): void {
    this.after.push(end);
  }
}

describe.each([
  ['REST routes', 'auto' as const],
  ['single route', 'single' as const],
])('suggestions over %s', (_label, transport) => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  let leaveBrowser: () => void;
  const policy = new RecordingPolicy();

  const threadIds = async (): Promise<string[]> => {
    await rt.persisted();
    const rows: Array<{ id: string }> = await rt.app.get(DataSource).query(`SELECT id FROM threads ORDER BY id`);
    return rows.map((row) => row.id);
  };

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onMessage(/Suggest what the user could say next/, {
      toolCalls: [{ name: 'copilotkitSuggest', arguments: { suggestions: SUGGESTIONS } }],
    });
    llm.mock.onMessage(/weather/, { content: 'It is sunny in Paris.' });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { runPolicies: [policy] } });
    leaveBrowser = pretendBrowser();
  });

  afterAll(async () => {
    leaveBrowser?.();
    await rt?.close();
    await llm?.stop();
  });

  it('the model suggests from the chat, streamed to the client’s suggestion engine; no thread is stored', async () => {
    const copilotkit: CopilotKitCore = await connectedCore({ runtimeUrl: rt.url, runtimeTransport: transport });
    expect(copilotkit.suggestions).toBe(true);
    const agent = copilotkit.getAgent('default')!;
    agent.threadId = `${transport}-chat`;
    agent.addMessage(userMessage(`${transport}-u1`, 'How is the weather in Paris?'));
    copilotkit.addContext({ description: 'The page the user is on', value: '/travel' });
    await copilotkit.runAgent({ agent });
    expect(await threadIds()).toEqual([`${transport}-chat`]);
    const beforeCount = policy.before.length;

    const fetches = recordFetch();
    try {
      copilotkit.addSuggestionsConfig({ instructions: 'Offer travel follow-ups.', minSuggestions: 1, maxSuggestions: 2 });
      copilotkit.reloadSuggestions('default');
      await eventually(() => {
        const { suggestions, isLoading } = copilotkit.getSuggestions('default');
        if (isLoading || suggestions.length < 2) throw new Error(`suggestions: ${JSON.stringify(suggestions)}`);
      }, 5000);
    } finally {
      fetches.restore();
    }
    expect(copilotkit.getSuggestions('default').suggestions).toEqual(SUGGESTIONS.map((s) => ({ ...s, isLoading: false })));

    // What the client sent: REST `/agent/default/suggest`; single route: an envelope `agent/run`.
    const runtimeCalls = fetches.exchanges.filter((e) => e.url.startsWith(rt.url));
    expect(runtimeCalls.map((e) => `${e.method} ${e.url.slice(rt.url.length) || '/'}`)).toEqual(
      transport === 'auto' ? ['POST /agent/default/suggest'] : ['POST /'],
    );

    // The model saw the chat, the application's context, and the forced suggestion tool.
    const request = llm.chatRequests().at(-1)!;
    expect(request.tool_choice).toEqual({ type: 'function', function: { name: 'copilotkitSuggest' } });
    expect(request.tools!.map((tool) => tool.function.name)).toContain('copilotkitSuggest');
    const texts = request.messages.map((m) => String(m.content));
    expect(texts).toEqual(expect.arrayContaining(['How is the weather in Paris?', 'It is sunny in Paris.']));
    expect(texts.some((text) => text.includes('/travel'))).toBe(true);
    expect(texts.at(-1)).toContain('Offer travel follow-ups.');

    // Through the policy stages, as a run; and stored nowhere.
    expect(policy.before.slice(beforeCount).map((run) => [run.protocol, run.agentId])).toEqual([['v2', 'default']]);
    await eventually(() => expect(policy.after.at(-1)).toMatchObject({ status: 'succeeded' }), 2000);
    expect(await threadIds()).toEqual([`${transport}-chat`]);
  });

  it('a policy stage refuses a suggestion as it refuses a run: an answer before any stream, no model call', async () => {
    const calls = llm.chatRequests().length;
    const reply = await postJson(
      transport === 'auto' ? `${rt.url}/agent/default/suggest` : rt.url,
      transport === 'auto'
        ? runInput({ threadId: 's-refused', runId: 's-r1', messages: [userMessage('m1', 'hi')], forwardedProps: { refuse: true } })
        : {
            method: 'agent/suggest',
            params: { agentId: 'default' },
            body: runInput({ threadId: 's-refused', runId: 's-r1', messages: [userMessage('m1', 'hi')], forwardedProps: { refuse: true } }),
          },
    );
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toMatchObject({ code: 'BAD_REQUEST', message: 'Refused by the recording policy.' });
    expect(llm.chatRequests()).toHaveLength(calls);
    expect(await threadIds()).not.toContain('s-refused');
  });

  it('an unknown provider agent or a bad body: 404 / 400, as for a run', async () => {
    const body = runInput({ threadId: 's-x', runId: 's-x1', messages: [] });
    const unknown = await postJson(transport === 'auto' ? `${rt.url}/agent/nobody/suggest` : rt.url,
      transport === 'auto' ? body : { method: 'agent/suggest', params: { agentId: 'nobody' }, body });
    expect([unknown.status, JSON.parse(unknown.text).error]).toEqual([404, 'Agent not found']);
    const bad = await postJson(transport === 'auto' ? `${rt.url}/agent/default/suggest` : rt.url,
      transport === 'auto' ? { threadId: 1 } : { method: 'agent/suggest', params: { agentId: 'default' }, body: { threadId: 1 } });
    expect([bad.status, JSON.parse(bad.text).error]).toEqual([400, 'Invalid request body']);
  });
});
