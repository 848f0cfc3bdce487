/**
 * The three ways one answer is streamed on one server's measurements: through the runtime (the
 * real v1 client), and straight to aimock by raw fetch (the ceiling) or by LangChain's ChatOpenAI.
 * Each run gets a unique key in its prompt, which aimock's note of the model request is filed under.
 */
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { config, promptFor, type Runner } from './config.js';
import type { BenchContext } from './context.js';
import type { ServerProcess } from './lib/server-process.js';
import {
  streamDirectFetch,
  streamDirectLangChain,
  streamThroughRuntime,
  toLangChainMessages,
  withUserPrompt,
  type StreamTiming,
} from './lib/streams.js';

export type Prompt = (key: string) => string;
/** Streams one answer to `prompt` (the 1,000-token one by default). */
export type StreamPath = (prompt?: Prompt) => Promise<StreamTiming>;

export interface RuntimePath {
  run: StreamPath;
  /** Runtime streams started so far on this server. */
  count: () => number;
}

export interface StreamPaths {
  runtime: StreamPath;
  directFetch: StreamPath;
  directLangChain: StreamPath;
}

export type PathName = keyof StreamPaths;

/** The order the single-stream and paced phases rotate through, with the labels of their checks. */
export const INTERLEAVED_PATHS: ReadonlyArray<readonly [PathName, string]> = [
  ['directFetch', 'direct fetch'],
  ['directLangChain', 'direct ChatOpenAI'],
  ['runtime', 'runtime'],
];

const runnerTag = (runner: Runner) => (runner === 'postgres' ? 'pg' : 'mem');

export function runtimePath(ctx: BenchContext, server: ServerProcess, runner: Runner): RuntimePath {
  const client = new CopilotRuntimeClient({ url: server.url });
  const tag = runnerTag(runner);
  let runCounter = 0;
  const run: StreamPath = async (prompt = promptFor) => {
    const key = `rt-${tag}-${process.pid}-${++runCounter}`;
    return ctx.noteUpstream(key, await streamThroughRuntime(client, prompt(key), key, config.streamTimeoutMs));
  };
  return { run, count: () => runCounter };
}

/**
 * The direct baselines send the very request the runtime sent the model (`sent`, from aimock's
 * journal); only the run key in the prompt differs.
 */
export function directPaths(
  ctx: BenchContext,
  runner: Runner,
  sent: Record<string, unknown>,
  upstreamMessages: Array<Record<string, unknown>>,
): Pick<StreamPaths, 'directFetch' | 'directLangChain'> {
  const tag = runnerTag(runner);
  let directCounter = 0;
  const directFetch: StreamPath = async (prompt = promptFor) => {
    const key = `fetch-${tag}-${++directCounter}`;
    const body = { ...sent, messages: withUserPrompt(upstreamMessages, prompt(key)) };
    return ctx.noteUpstream(key, await streamDirectFetch(ctx.aimockBaseURL, body, config.streamTimeoutMs));
  };
  const directLangChain: StreamPath = async (prompt = promptFor) => {
    const key = `lc-${tag}-${++directCounter}`;
    const messages = toLangChainMessages(withUserPrompt(upstreamMessages, prompt(key)));
    return ctx.noteUpstream(key, await streamDirectLangChain(ctx.chatModel, messages, config.streamTimeoutMs));
  };
  return { directFetch, directLangChain };
}
