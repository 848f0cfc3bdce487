import { HttpAgent, type AbstractAgent, type HttpAgentFetchFn } from '@ag-ui/client';
import { mergeForwardedHeaders } from './forwarded-headers.js';

/**
 * Per-run setup of an HttpAgent instance (the run's own clone, so the registered prototype is
 * never touched): the forwarded headers, and a guard on the response body.
 */
export function prepareHttpAgentRun(
  instance: AbstractAgent,
  options: { forwardedHeaders?: Record<string, string>; onBodyError: (error: unknown) => void },
): void {
  if (!isHttpAgent(instance)) return;
  if (options.forwardedHeaders && Object.keys(options.forwardedHeaders).length > 0) {
    instance.headers = mergeForwardedHeaders(instance.headers ?? {}, options.forwardedHeaders);
  }
  instance.fetch = guardedFetch(instance.fetch, options.onBodyError);
}

/**
 * When the agent's server hangs up mid-answer, @ag-ui/client's reader loop fails, then cancels the
 * errored body in its teardown and rethrows the rejection of that cancel: an unhandled rejection,
 * which ends a Node process. This guard hands the client a body that never errors: a read failure
 * is reported to the run through `onBodyError` (which fails it) and the body simply ends.
 */
function guardedFetch(fetch: HttpAgentFetchFn, onBodyError: (error: unknown) => void): HttpAgentFetchFn {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (!response.ok || !response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          // Our own abort (the run already ended) is no failure to report.
          if ((error as { name?: unknown } | null)?.name !== 'AbortError') onBodyError(error);
          controller.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => undefined);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** Also recognises an HttpAgent from another copy of @ag-ui/client (integrations bring their own). */
function isHttpAgent(instance: AbstractAgent): instance is HttpAgent {
  if (instance instanceof HttpAgent) return true;
  const candidate = instance as unknown as Partial<HttpAgent>;
  return (
    typeof candidate.url === 'string' &&
    typeof candidate.fetch === 'function' &&
    typeof candidate.headers === 'object' &&
    candidate.headers !== null
  );
}
