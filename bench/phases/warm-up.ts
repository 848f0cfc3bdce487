/**
 * Phase: warm-up. The first runtime run also tells us the exact request the runtime sends the
 * model, which the direct baselines then replay; each path then runs `config.warmup` times.
 */
import { config, type Runner } from '../config.js';
import type { BenchContext } from '../context.js';
import { check } from '../measure.js';
import { log } from '../log.js';
import { directPaths, type StreamPath, type StreamPaths } from '../stream-paths.js';

/** The shape of the request the runtime sent the model (recorded in the results). */
export interface UpstreamRequest {
  model: unknown;
  stream: unknown;
  streamOptions: unknown;
  messages: string[];
  tools: number;
}

export async function warmUp(
  ctx: BenchContext,
  runner: Runner,
  runtime: StreamPath,
): Promise<{ upstreamRequest: UpstreamRequest; paths: StreamPaths }> {
  const { mock, answer } = ctx;
  log(`[${runner}] warm-up: ${config.warmup} run(s) each of runtime, direct fetch, direct ChatOpenAI`);
  check('runtime (warm-up)', await runtime(), answer.text);
  const sent = mock
    .getRequests()
    .filter((entry) => entry.path.endsWith('/chat/completions'))
    .at(-1)?.body as Record<string, unknown> | undefined;
  if (!sent || !Array.isArray(sent.messages)) throw new Error('aimock did not record the runtime request');
  const upstreamMessages = sent.messages as Array<Record<string, unknown>>;
  const upstreamRequest: UpstreamRequest = {
    model: sent.model,
    stream: sent.stream,
    streamOptions: sent.stream_options ?? null,
    messages: upstreamMessages.map((message) => String(message.role)),
    tools: Array.isArray(sent.tools) ? sent.tools.length : 0,
  };
  const paths: StreamPaths = { runtime, ...directPaths(ctx, runner, sent, upstreamMessages) };
  for (let index = 0; index < config.warmup; index++) {
    if (index > 0) check('runtime (warm-up)', await paths.runtime(), answer.text);
    check('direct fetch (warm-up)', await paths.directFetch(), answer.text);
    check('direct ChatOpenAI (warm-up)', await paths.directLangChain(), answer.text);
  }
  return { upstreamRequest, paths };
}
