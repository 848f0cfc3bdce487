/** What a model call that did not start answering in time fails with (mapped to NETWORK_ERROR). */
export class FirstChunkTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`No answer within ${timeoutMs} ms`);
    // The name LangChain gives ChatOpenAI's timeouts, which provider-errors.ts recognises.
    this.name = 'TimeoutError';
  }
}

/**
 * Runs a model stream with a limit on the wait for its first chunk, for provider packages that
 * have no timeout of their own (Google's, Ollama's): like the OpenAI and Anthropic SDKs' timeouts,
 * it bounds the wait for the provider to start answering, not a long answer. `start` receives the
 * signal to give the provider call (the caller's, plus the timeout's); when the timeout fires, the
 * call is aborted and the stream fails with FirstChunkTimeoutError. An abort by the caller stays
 * the caller's.
 */
export async function* withFirstChunkTimeout<T>(
  start: (signal: AbortSignal) => AsyncGenerator<T>,
  timeoutMs: number,
  callerSignal?: AbortSignal,
): AsyncGenerator<T> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new FirstChunkTimeoutError(timeoutMs)), timeoutMs);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeout.signal]) : timeout.signal;
  try {
    for await (const chunk of start(signal)) {
      clearTimeout(timer);
      yield chunk;
    }
  } catch (error) {
    if (timeout.signal.aborted && !callerSignal?.aborted) throw timeout.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
