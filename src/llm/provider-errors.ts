import { CopilotRuntimeError, type ErrorCode } from '../common/errors.js';

/**
 * Names of the settings an operator changes to fix a provider failure, quoted in error messages
 * (e.g. `OPENAI_API_KEY`). A provider without such settings leaves them out and the messages
 * speak of "the configured chat model" instead.
 */
export interface ProviderSettingNames {
  apiKey?: string;
  model?: string;
  baseUrl?: string;
  timeout?: string;
}

export interface ProviderErrorContext {
  /** Provider name, e.g. `openai`; only used to phrase messages. */
  provider?: string;
  settingNames?: ProviderSettingNames;
}

/** Provider messages are echoed to users: keep them short and one line. */
const MAX_PROVIDER_MESSAGE_LENGTH = 500;

/** Error codes of Node sockets and undici that mean "the provider could not be reached". */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** LangChain tags some wrapped provider errors with these codes, sometimes without an HTTP status. */
const LANGCHAIN_CODE_STATUS: Record<string, number> = {
  MODEL_AUTHENTICATION: 401,
  MODEL_NOT_FOUND: 404,
  MODEL_RATE_LIMIT: 429,
};

/**
 * True for a cancellation rather than a failure: a DOM/Node AbortError, the OpenAI SDK's
 * APIUserAbortError, or any error raised after `signal` was aborted.
 */
export function isAbortError(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  // Duck-typed: errors from fetch may come from another realm (Jest's VM), failing instanceof.
  if (!isObject(error)) return false;
  return error.name === 'AbortError' || error.constructor?.name === 'APIUserAbortError';
}

/**
 * Maps what a LangChain chat model throws to a CopilotRuntimeError whose message an operator can
 * act on: HTTP 401 → AUTHENTICATION_ERROR, other 4xx → CONFIGURATION_ERROR, 5xx, timeouts and
 * connection failures → NETWORK_ERROR. The same for every provider package, whose errors differ:
 * - OpenAI and Anthropic SDKs: APIError with `status` and the parsed body in `error` (Anthropic
 *   nests it: `{type: "error", error: {type, message}}`); APIConnectionError(/Timeout) otherwise;
 * - Google (`@google/generative-ai`): GoogleGenerativeAIFetchError with `status`, the URL and
 *   status text in its message; a failed fetch becomes a plain GoogleGenerativeAIError whose
 *   message ends in "fetch failed" (the cause is dropped), a broken stream "Error reading from
 *   the stream";
 * - Ollama (`ollama`): ResponseError with `status_code` and the body's `error`; fetch's own
 *   TypeError ("fetch failed", with the socket error as cause) when it cannot connect; "Did not
 *   receive done or success response in stream." when the stream stops early. Errors without a status that do not come from the provider
 * call (bugs, unexpected shapes) become UNKNOWN. The original error is kept as `cause` for the
 * server log; messages never carry stacks or local paths.
 */
export function toCopilotRuntimeError(
  error: unknown,
  context: ProviderErrorContext = {},
): CopilotRuntimeError {
  if (error instanceof CopilotRuntimeError) return error;
  const names = context.settingNames ?? {};
  const status = httpStatusOf(error);
  const detail = providerMessageOf(error);

  if (status !== undefined) {
    const [code, message] = describeHttpFailure(status, detail, names);
    return new CopilotRuntimeError(code, message, { cause: error });
  }
  if (isTimeout(error)) {
    const raise = names.timeout ? `, or raise ${names.timeout}` : '';
    return new CopilotRuntimeError(
      'NETWORK_ERROR',
      `The LLM provider did not answer in time${suffix(detail)}. Try again later${raise}.`,
      { cause: error },
    );
  }
  if (isBrokenConnection(error)) {
    return new CopilotRuntimeError(
      'NETWORK_ERROR',
      `The connection to the LLM provider broke off${suffix(connectionDetailOf(error))}. Try again later.`,
      { cause: error },
    );
  }
  if (isConnectionFailure(error)) {
    const where = names.baseUrl ? `Check ${names.baseUrl} and` : 'Check';
    return new CopilotRuntimeError(
      'NETWORK_ERROR',
      `Could not reach the LLM provider${suffix(connectionDetailOf(error))}. ${where} that the server is reachable.`,
      { cause: error },
    );
  }
  return new CopilotRuntimeError('UNKNOWN', `The LLM call failed${suffix(detail)}.`, { cause: error });
}

function describeHttpFailure(
  status: number,
  detail: string,
  names: ProviderSettingNames,
): [ErrorCode, string] {
  const said = `(${status})${detail ? `: ${withPeriod(detail)}` : '.'}`;
  if (status === 401) {
    const check = names.apiKey ? `Check ${names.apiKey}.` : 'Check the API key of the configured chat model.';
    return ['AUTHENTICATION_ERROR', `The LLM provider rejected the API key ${said} ${check}`];
  }
  if (status === 403) {
    return ['CONFIGURATION_ERROR', `The LLM provider refused access ${said} Check that the API key may use this model.`];
  }
  if (status === 404) {
    const check = [names.model, names.baseUrl].filter(Boolean).join(' and ') || 'the model name and endpoint';
    return ['CONFIGURATION_ERROR', `The LLM provider does not know this model or endpoint ${said} Check ${check}.`];
  }
  if (status === 429) {
    return ['CONFIGURATION_ERROR', `The LLM provider is rate limiting or out of quota ${said} Retry later or check the account's quota.`];
  }
  if (status >= 400 && status < 500) {
    return ['CONFIGURATION_ERROR', `The LLM provider rejected the request ${said} Check the model settings (model, temperature, max tokens, tools).`];
  }
  return ['NETWORK_ERROR', `The LLM provider failed ${said} Try again later.`];
}

function httpStatusOf(error: unknown): number | undefined {
  if (!isObject(error)) return undefined;
  const response = isObject(error.response) ? error.response : undefined;
  const candidates = [error.status, error.statusCode, error.status_code, response?.status];
  const status = candidates.find((value): value is number => typeof value === 'number' && value >= 400 && value < 600);
  if (status !== undefined) return status;
  return typeof error.lc_error_code === 'string' ? LANGCHAIN_CODE_STATUS[error.lc_error_code] : undefined;
}

/** The provider's own words: the API error body when there is one, else the error message. */
function providerMessageOf(error: unknown): string {
  if (!isObject(error)) return typeof error === 'string' ? sanitize(error) : '';
  const body = isObject(error.error) ? error.error : undefined;
  if (typeof body?.message === 'string') return sanitize(body.message);
  // Anthropic: `{type: "error", error: {type: "authentication_error", message}}`.
  const nested = isObject(body?.error) ? body.error : undefined;
  if (typeof nested?.message === 'string') return sanitize(nested.message);
  if (typeof error.message !== 'string') return '';
  return sanitize(withoutSdkPrefixes(error.message));
}

/** What the SDKs put before the provider's own words. */
function withoutSdkPrefixes(message: string): string {
  return (
    message
      // The OpenAI and Anthropic SDKs prefix the status ("401 Incorrect API key"); we state it ourselves.
      .replace(/^\d{3}\s+/, '')
      // Google: "[GoogleGenerativeAI Error]: Error fetching from <url>: [401 Unauthorized] <message>".
      .replace(/^\[GoogleGenerativeAI Error\]:\s*/, '')
      .replace(/^Error fetching from \S+: (?:\[\d{3}[^\]]*\]\s*)?/, '')
  );
}

/** "fetch failed" says nothing: the socket error underneath (e.g. ECONNREFUSED) does. */
function connectionDetailOf(error: unknown): string {
  for (const link of causeChain(error)) {
    if (typeof link.code === 'string' && CONNECTION_ERROR_CODES.has(link.code) && typeof link.message === 'string') {
      return sanitize(link.message);
    }
  }
  const deepest = causeChain(error).at(-1);
  const message = typeof deepest?.message === 'string' ? sanitize(withoutSdkPrefixes(deepest.message)) : '';
  // The OpenAI SDK turns causes it cannot read into "{}".
  return /[a-z0-9]/i.test(message) ? message : '';
}

function isTimeout(error: unknown): boolean {
  return causeChain(error).some(
    (link) =>
      link.name === 'TimeoutError' ||
      link.constructor?.name === 'APIConnectionTimeoutError' ||
      link.code === 'ETIMEDOUT' ||
      link.code === 'UND_ERR_CONNECT_TIMEOUT' ||
      link.code === 'UND_ERR_HEADERS_TIMEOUT' ||
      link.code === 'UND_ERR_BODY_TIMEOUT',
  );
}

/** The provider hung up after answering had begun (undici: TypeError "terminated"). */
function isBrokenConnection(error: unknown): boolean {
  return causeChain(error).some(
    (link) =>
      (link.name === 'TypeError' && link.message === 'terminated') ||
      (typeof link.message === 'string' && BROKEN_STREAM_MESSAGES.some((pattern) => pattern.test(link.message as string))) ||
      link.code === 'UND_ERR_SOCKET' ||
      link.code === 'ECONNRESET',
  );
}

/** Google's and Ollama's words for a stream that stopped before its end. */
const BROKEN_STREAM_MESSAGES = [/^\[GoogleGenerativeAI Error\]: Error reading from the stream$/, /^Did not receive done or success response in stream\.$/];

/** The SDKs' APIConnectionError ("fetch failed" underneath), Google's wrapped "fetch failed", socket errors. */
function isConnectionFailure(error: unknown): boolean {
  return causeChain(error).some(
    (link) =>
      link.constructor?.name === 'APIConnectionError' ||
      (typeof link.message === 'string' && /^\[GoogleGenerativeAI Error\]: Error fetching from \S+: fetch failed$/.test(link.message)) ||
      (typeof link.code === 'string' && CONNECTION_ERROR_CODES.has(link.code)) ||
      (link.name === 'TypeError' && link.message === 'fetch failed'),
  );
}

type ErrorLike = Record<string, unknown> & { constructor?: { name?: string } };

function causeChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (isObject(current) && chain.length < 8 && !chain.includes(current)) {
    chain.push(current);
    current = current.cause;
  }
  return chain;
}

/** One line, no stack frames, no local file paths, LangChain's troubleshooting footer dropped. */
function sanitize(message: string): string {
  const text = message
    .split('\n')
    .filter((line) => !/^\s*at\s/.test(line) && !line.startsWith('Troubleshooting URL:'))
    .join(' ')
    .replace(/(?<![\w:/.])(?:file:\/\/)?(?:\/[\w.@-]+){2,}\/?/g, '<path>')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > MAX_PROVIDER_MESSAGE_LENGTH ? `${text.slice(0, MAX_PROVIDER_MESSAGE_LENGTH)}…` : text;
}

function suffix(detail: string): string {
  return detail ? `: ${detail.replace(/[.\s]+$/, '')}` : '';
}

function withPeriod(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function isObject(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null;
}
