import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import {
  buildExample,
  ensureChromium,
  ensureResultsDir,
  launchChromium,
  serveExample,
  type ExampleServer,
} from './example-app.js';

/**
 * The example app (examples/react-chat: the real @copilotkit/react-core and react-ui 1.74, built
 * with Vite) in headless Chromium, against the booted runtime with aimock behind ChatOpenAI:
 * a streamed answer, frontend actions the model calls and the page runs, the thread's history
 * (tool calls included) back after a reload (the chat's `connect` replays it from the runtime), and
 * the thread list next to the chat (react-core's `useThreads` on the runtime's thread endpoints):
 * a second conversation, switching between them with each history restored, a rename, and a
 * rename made in another tab showing up.
 *
 * The first run on a fresh clone installs Chromium (scripts/ensure-chromium.sh, apt-get as root)
 * and the example's dependencies (npm ci): minutes, hence the long setup timeout.
 */
const SETUP_TIMEOUT = 20 * 60_000;
const STEP_TIMEOUT = 60_000;
const UI_TIMEOUT = 20_000;

const GREETING = 'Hello there, assistant from the browser test';
const ANSWER = 'Hi! I am the scripted aimock model, streaming this answer to your browser in small pieces.';
const TODO_REQUEST = 'Please add a todo: buy oat milk';
const TODO_TEXT = 'Buy oat milk';
const TODO_CALL_ID = 'call_browser_add_todo_1';
const TODO_ANSWER = 'Done: "Buy oat milk" is on your to-do list.';
const COLOR_REQUEST = 'Now set the background color to light blue';
const COLOR_CALL_ID = 'call_browser_background_1';
const COLOR_ANSWER = 'The page is light blue now.';
const WEATHER_REQUEST = 'What is the weather in Paris?';
const WEATHER_CALL_ID = 'call_browser_weather_1';
const WEATHER_ANSWER = 'It is sunny in Paris, 21 degrees.';
const TRIP_REQUEST = 'Plan a weekend trip to Lisbon';
const TRIP_ANSWER = 'Day one: Alfama and the castle. Day two: Belém and pastéis de nata.';

describe('examples/react-chat in Chromium', () => {
  let llm: AimockServer | undefined;
  let rt: RuntimeApp | undefined;
  let site: ExampleServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let threadId = '';
  const consoleLines: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    await ensureChromium();
    const chromiumReady = Date.now();
    const distDir = await buildExample('/api/copilotkit');
    const built = Date.now();

    llm = await startAimock();
    // First match wins: the follow-up after the tool result (same last user message) comes first.
    llm.mock.onToolResult(TODO_CALL_ID, { content: TODO_ANSWER });
    llm.mock.onMessage('add a todo', { toolCalls: [{ id: TODO_CALL_ID, name: 'addTodo', arguments: { text: TODO_TEXT } }] });
    llm.mock.onToolResult(COLOR_CALL_ID, { content: COLOR_ANSWER });
    llm.mock.onMessage('background color', {
      toolCalls: [{ id: COLOR_CALL_ID, name: 'setBackgroundColor', arguments: { color: 'lightblue' } }],
    });
    llm.mock.onToolResult(WEATHER_CALL_ID, { content: WEATHER_ANSWER });
    llm.mock.onMessage('weather in Paris', { toolCalls: [{ id: WEATHER_CALL_ID, name: 'getWeather', arguments: { city: 'Paris' } }] });
    llm.mock.onMessage(GREETING, { content: ANSWER }, { chunkSize: 4, latency: 40 });
    llm.mock.onMessage(TRIP_REQUEST, { content: TRIP_ANSWER });

    // One server-side action: executed by the runtime, never by the page.
    const getWeather = {
      name: 'getWeather',
      description: 'Current weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      handler: ({ city }: { city: string }) => ({ city, tempC: 21, sky: 'sunny' }),
    };
    rt = await startRuntimeApp({ llmBaseUrl: llm.baseURL, options: { actions: [getWeather] } });
    site = await serveExample(distDir, new URL(rt.url).origin, new URL(rt.url).pathname);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      const line = `[${message.type()}] ${message.text()}`;
      if (consoleLines.at(-1) !== line) consoleLines.push(line); // the client repeats itself while it starts
    });
    page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
    process.stderr.write(
      `[browser-test] setup: chromium ${((chromiumReady - started) / 1000).toFixed(1)} s, ` +
        `example install+build ${((built - chromiumReady) / 1000).toFixed(1)} s, ` +
        `servers+browser ${((Date.now() - built) / 1000).toFixed(1)} s\n`,
    );
  }, SETUP_TIMEOUT);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await site?.close();
    await rt?.close();
    await llm?.stop();
  }, STEP_TIMEOUT);

  /** Runs a step; on failure saves a screenshot and the page's console into test-results/. */
  async function step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      const dir = await ensureResultsDir();
      const file = join(dir, `react-chat-${name}.png`);
      await page?.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      const requests = (site?.requests ?? [])
        .map((r) => `${r.method} ${r.path}${r.envelope ? ` {method:${r.envelope}}` : ''} -> ${r.status ?? '…'}`)
        .join('\n  ');
      throw new Error(
        `${(error as Error).message}\n\nscreenshot: ${file}\nruntime requests:\n  ${requests}\n` +
          `browser console (last 30):\n  ${consoleLines.slice(-30).join('\n  ')}`,
        { cause: error },
      );
    }
  }

  const textarea = () => page.getByTestId('copilot-chat-textarea');
  const userMessages = () => page.locator('.copilotKitUserMessage');
  const assistantMessages = () => page.locator('.copilotKitAssistantMessage');

  /** Connect requests the page has sent to the runtime (REST route or single-route envelope). */
  const connects = () =>
    site!.requests.filter((r) => /\/agent\/[^/]+\/connect$/.test(r.path) || r.envelope === 'agent/connect').length;

  /** Run requests the page has sent to the runtime. */
  const runs = () => site!.requests.filter((r) => /\/agent\/[^/]+\/run$/.test(r.path) || r.envelope === 'agent/run').length;

  async function waitUntil(what: string, condition: () => boolean, timeout = UI_TIMEOUT): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting until ${what}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  async function send(text: string): Promise<void> {
    await textarea().fill(text);
    await textarea().press('Enter');
  }

  it('loads the built example with a thread id kept in the URL and localStorage', async () => {
    await step('load', async () => {
      await page.goto(site!.origin + '/');
      await textarea().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      threadId = new URL(page.url()).searchParams.get('thread') ?? '';
      expect(threadId).not.toBe('');
      expect(await page.getByTestId('thread-id').textContent()).toBe(threadId);
      const stored = await page.evaluate(() => localStorage.getItem('copilot-runtime-nest.react-chat.threadId'));
      expect(stored).toBe(threadId);
      // The chat has found the runtime and connected the (empty) thread.
      await waitUntil('the chat connects the thread', () => connects() > 0);
    });
  }, STEP_TIMEOUT);

  it('streams the scripted answer into the chat', async () => {
    await step('answer', async () => {
      // Watch the assistant bubble in the page while the answer streams in.
      await page.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { __seen: string[] }).__seen = seen;
        const timer = setInterval(() => {
          const bubbles = document.querySelectorAll('.copilotKitAssistantMessage');
          const text = bubbles.length ? (bubbles[bubbles.length - 1]!.textContent ?? '') : '';
          if (text && seen[seen.length - 1] !== text) seen.push(text);
          if (seen.length > 500) clearInterval(timer);
        }, 10);
      });
      await send(GREETING);
      await userMessages().filter({ hasText: GREETING }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
      const partial = seen.filter((text) => text.length > 0 && text.length < ANSWER.length && ANSWER.startsWith(text.trim()));
      // Rendered piece by piece, not all at once at the end.
      expect(partial.length).toBeGreaterThan(1);
      // The model got the user's message.
      const request = llm!.chatRequests().find((body) => JSON.stringify(body.messages).includes(GREETING));
      expect(request).toBeDefined();
    });
  }, STEP_TIMEOUT);

  it('runs the frontend actions the model calls and shows their effect on the page', async () => {
    await step('action', async () => {
      expect(await page.getByTestId('todos').count()).toBe(0);
      await send(TODO_REQUEST);
      // The page ran the handler: the item is in the list; the chat shows the call.
      await page.getByTestId('todos').getByText(TODO_TEXT).waitFor({ timeout: UI_TIMEOUT });
      await page.getByTestId('tool-card-addTodo').filter({ hasText: `Added to-do: ${TODO_TEXT}` }).waitFor({ timeout: UI_TIMEOUT });
      // The result went back to the model, whose follow-up answer is shown.
      await assistantMessages().filter({ hasText: TODO_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      const offered = llm!.chatRequests().find((body) => JSON.stringify(body.messages).includes(TODO_REQUEST));
      // The page's actions, and the built-in agent's shared-state tools (as upstream's).
      expect(offered?.tools?.map((tool) => tool.function.name).sort()).toEqual([
        'AGUISendStateDelta',
        'AGUISendStateSnapshot',
        'addTodo',
        'getWeather',
        'setBackgroundColor',
      ]);
      expect(llm!.chatRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: TODO_CALL_ID });

      await send(COLOR_REQUEST);
      await assistantMessages().filter({ hasText: COLOR_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      // lightblue, once the page's 0.3 s transition is over
      await page.waitForFunction(
        () => getComputedStyle(document.querySelector('[data-testid="page"]')!).backgroundColor === 'rgb(173, 216, 230)',
        undefined,
        { timeout: UI_TIMEOUT },
      );
      expect(llm!.chatRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: COLOR_CALL_ID });
    });
  }, STEP_TIMEOUT);

  it('answers after a server-side action in the same run: the chat sends no follow-up for it', async () => {
    await step('server-action', async () => {
      const runsBefore = runs();
      const modelCallsBefore = llm!.chatRequests().length;
      await send(WEATHER_REQUEST);
      await assistantMessages().filter({ hasText: WEATHER_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      // One run of the chat; the runtime called the model twice (the call, then the answer to its result).
      expect(runs()).toBe(runsBefore + 1);
      expect(llm!.chatRequests().length).toBe(modelCallsBefore + 2);
      expect(llm!.chatRequests().at(-1)!.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: WEATHER_CALL_ID });
    });
  }, STEP_TIMEOUT);

  it('restores the thread history after a reload, from the runtime, without running the model again', async () => {
    await step('reload', async () => {
      // The last run's record may still be landing: reload only once it has.
      await rt!.persisted();
      const modelCalls = llm!.chatRequests().length;
      const connectsBefore = connects();

      await page.reload();
      await textarea().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      expect(new URL(page.url()).searchParams.get('thread')).toBe(threadId);
      await userMessages().filter({ hasText: GREETING }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      await userMessages().filter({ hasText: TODO_REQUEST }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: TODO_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: COLOR_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: WEATHER_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      // The tool calls come back with their results (rendered as complete), and are not run again:
      // the page's own state (to-do list, background) starts fresh.
      await page.getByTestId('tool-card-addTodo').filter({ hasText: `Added to-do: ${TODO_TEXT}` }).waitFor({ timeout: UI_TIMEOUT });
      await page.getByTestId('tool-card-setBackgroundColor').filter({ hasText: 'Background set to lightblue' }).waitFor({
        timeout: UI_TIMEOUT,
      });
      expect(await page.getByTestId('todos').count()).toBe(0);
      expect(connects()).toBeGreaterThan(connectsBefore);

      // A bare URL finds the thread in localStorage.
      await page.goto(site!.origin + '/');
      await userMessages().filter({ hasText: GREETING }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: COLOR_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      expect(new URL(page.url()).searchParams.get('thread')).toBe(threadId);
      // Each message once: a replay, not the history doubled.
      expect(await userMessages().filter({ hasText: GREETING }).count()).toBe(1);
      expect(await assistantMessages().filter({ hasText: ANSWER }).count()).toBe(1);
      expect(await page.getByTestId('tool-card-addTodo').count()).toBe(1);

      // History came from the runtime, not from the model answering again.
      expect(llm!.chatRequests().length).toBe(modelCalls);
    });
  }, STEP_TIMEOUT);

  /** The thread ids in the list, top to bottom. */
  const listed = () =>
    page.locator('[data-testid="thread-item"]').evaluateAll((items) => items.map((item) => item.getAttribute('data-thread-id')));
  const item = (on: Page, id: string) => on.locator(`[data-testid="thread-item"][data-thread-id="${id}"]`);

  it('lists the conversations: a second one, switching restores each history, renames stick (also from another tab)', async () => {
    await step('thread-list', async () => {
      await item(page, threadId).waitFor({ timeout: UI_TIMEOUT });
      const modelCalls = llm!.chatRequests().length;

      // A second conversation: it joins the list, on top (newest activity first).
      await page.getByTestId('new-thread').click();
      await waitUntil('a new thread id', () => (new URL(page.url()).searchParams.get('thread') ?? threadId) !== threadId);
      const secondId = new URL(page.url()).searchParams.get('thread')!;
      await textarea().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
      expect(await userMessages().count()).toBe(0);
      await send(TRIP_REQUEST);
      await assistantMessages().filter({ hasText: TRIP_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      await item(page, secondId).waitFor({ timeout: UI_TIMEOUT });
      expect(await listed()).toEqual([secondId, threadId]);

      // Renamed in the list: stored by the runtime.
      await item(page, secondId).getByTestId('thread-rename').click();
      await page.getByTestId('thread-name-input').fill('Lisbon trip');
      await page.getByTestId('thread-name-input').press('Enter');
      await item(page, secondId).filter({ hasText: 'Lisbon trip' }).waitFor({ timeout: UI_TIMEOUT });

      // Switching: each conversation's history comes back from the runtime, nothing else's.
      await item(page, threadId).getByTestId('thread-open').click();
      await waitUntil('the first thread is open', () => new URL(page.url()).searchParams.get('thread') === threadId);
      await userMessages().filter({ hasText: GREETING }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: WEATHER_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      expect(await userMessages().filter({ hasText: TRIP_REQUEST }).count()).toBe(0);
      await item(page, secondId).getByTestId('thread-open').click();
      await waitUntil('the second thread is open', () => new URL(page.url()).searchParams.get('thread') === secondId);
      await userMessages().filter({ hasText: TRIP_REQUEST }).waitFor({ timeout: UI_TIMEOUT });
      await assistantMessages().filter({ hasText: TRIP_ANSWER }).waitFor({ timeout: UI_TIMEOUT });
      expect(await userMessages().filter({ hasText: GREETING }).count()).toBe(0);
      // The rename survived the switches (the list is the runtime's, fetched again).
      await item(page, secondId).filter({ hasText: 'Lisbon trip' }).waitFor({ timeout: UI_TIMEOUT });

      // Another tab renames the first conversation: this tab's list shows it without a reload.
      const other = await context!.newPage();
      try {
        await other.goto(`${site!.origin}/?thread=${encodeURIComponent(secondId)}`);
        await item(other, threadId).getByTestId('thread-rename').click();
        await other.getByTestId('thread-name-input').fill('Paris weather');
        await other.getByTestId('thread-name-input').press('Enter');
        await item(other, threadId).filter({ hasText: 'Paris weather' }).waitFor({ timeout: UI_TIMEOUT });
      } finally {
        await other.close();
      }
      await page.bringToFront();
      await item(page, threadId).filter({ hasText: 'Paris weather' }).waitFor({ timeout: UI_TIMEOUT });
      expect(await listed()).toEqual([secondId, threadId]);

      // Switching replayed histories; only the new conversation's one turn called the model.
      expect(llm!.chatRequests().length).toBe(modelCalls + 1);
    });
  }, 2 * STEP_TIMEOUT);
});
