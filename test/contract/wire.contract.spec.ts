import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { contractFixture } from '../support/contract-fixtures.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { TestActionsModule, WeatherActions } from '../support/test-actions.module.js';
import { summarize } from './incremental-summary.js';
import { boundaryOf, parseMultipart } from './multipart.js';

/**
 * Replays the real v1 client's captured requests against our server and compares the raw
 * multipart responses with upstream's captured bytes (contract/v1/wire), structurally: same first
 * part, same message items (keys in order, __typename, roles, names, results), same streamed
 * text and arguments once joined, same statuses at the same paths, same framing. Ids,
 * timestamps and chunk boundaries are free; so is the order of patches at different paths.
 */
const WIRE_DIR = contractFixture('v1/wire/');

interface Capture {
  request: { method: string; headers: Record<string, string>; body: Record<string, any> };
  response: { status: number; headers: Record<string, string> };
}

const capture = (name: string): Capture => JSON.parse(readFileSync(new URL(`${name}.wire.json`, WIRE_DIR), 'utf8'))[0];
const rawCapture = (name: string): string => readFileSync(new URL(`${name}.raw.txt`, WIRE_DIR), 'utf8');

describe('v1 wire contract (captured upstream responses)', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;

  beforeAll(async () => {
    llm = await startAimock();
    // The same model answers upstream was captured with (content and tool-call ids).
    llm.mock.onMessage('Hi there', { content: 'Hello! I am a mock.' }, { chunkSize: 4 });
    llm.mock.onMessage('CALL_TOOL:showAlert', {
      toolCalls: [{ id: 'call_showAlert_1', name: 'showAlert', arguments: '{"message":"hello"}' }],
    });
    llm.mock.onMessage('CALL_TOOL:getWeather', {
      toolCalls: [{ id: 'call_getWeather_1', name: 'getWeather', arguments: '{"city":"Paris"}' }],
    });
    llm.mock.onMessage('TWO_TOOLS', {
      toolCalls: [
        { id: 'call_A', name: 'showAlert', arguments: '{"message":"one"}' },
        { id: 'call_B', name: 'showAlert', arguments: '{"message":"two"}' },
      ],
    });
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, imports: [TestActionsModule] });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  async function replay(name: string) {
    const { request, response: upstream } = capture(name);
    const response = await fetch(rt.url, {
      method: request.method,
      headers: request.headers,
      body: JSON.stringify(request.body),
    });
    const raw = await response.text();
    return { request, upstream, response, raw };
  }

  it.each(['text_chat', 'frontend_tool_call', 'backend_action', 'two_tools'])(
    '%s: same status, framing and incremental structure as upstream',
    async (name) => {
      const { request, upstream, response, raw } = await replay(name);

      expect(response.status).toBe(upstream.status);
      // Upstream: `multipart/mixed; boundary="-"`. Apollo adds `; deferSpec=20220824`, which the
      // client ignores: urql only tests /multipart\/mixed/ and reads /boundary="?([^=";]+)"?/.
      const contentType = response.headers.get('content-type') ?? '';
      expect(contentType).toMatch(/^multipart\/mixed; boundary="-"(; deferSpec=20220824)?$/);
      expect(boundaryOf(contentType)).toBe(boundaryOf(upstream.headers['content-type']));
      expect(response.headers.get('x-copilotkit-runtime-version')).toBe(
        request.headers['x-copilotkit-runtime-client-gql-version'],
      );

      const boundary = boundaryOf(contentType)!;
      const ours = parseMultipart(raw, boundary);
      const theirs = parseMultipart(rawCapture(name), boundary);
      for (const part of ours) expect(part.headers['content-type']).toBe('application/json; charset=utf-8');

      const ourSummary = summarize(ours);
      const upstreamSummary = summarize(theirs);
      expect(upstreamSummary.problems).toEqual([]);
      expect(ourSummary.problems).toEqual([]);

      // The first part is identical but for runId: upstream sends null, we generate one.
      expect(upstreamSummary.runId).toBeNull();
      expect(ourSummary.runId).toEqual(expect.stringMatching(/^\S+$/));
      expect(ourSummary.initial).toEqual(upstreamSummary.initial);

      expect(ourSummary.messages).toEqual(upstreamSummary.messages);
      expect(ourSummary.responseData).toEqual(upstreamSummary.responseData);
      expect(ourSummary.final).toEqual({ hasNext: false });
      expect(ourSummary).toEqual({ ...upstreamSummary, runId: ourSummary.runId });
    },
  );

  it('backend_action: the server action ran once with the arguments the model sent', async () => {
    const weather = rt.app.get(WeatherActions);
    const before = weather.calls.length;
    await replay('backend_action');
    expect(weather.calls.slice(before).map((call) => call.args)).toEqual([{ city: 'Paris' }]);
  });

  it('the final part is a bare {"hasNext":false}, as upstream sends it', async () => {
    const { raw } = await replay('text_chat');
    expect(raw.endsWith('\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{"hasNext":false}\r\n-----\r\n')).toBe(true);
  });
});
