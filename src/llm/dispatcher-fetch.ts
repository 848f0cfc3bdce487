import { pipeline, type Readable } from 'node:stream';
import { arrayBuffer, blob, text } from 'node:stream/consumers';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, interceptors, request, type Dispatcher } from 'undici';

/**
 * The `fetch` the OpenAI SDK is given (ChatOpenAI's `configuration.fetch`): the same request on
 * undici's dispatcher API instead of WHATWG fetch.
 *
 * Why: per model call, fetch builds a Request (with a cloned, teed body stream), Headers, a
 * Response and AbortSignals that are transferable objects, and every network read of the answer
 * goes through a web ReadableStream. That is about a tenth of the server's CPU for a short v1
 * answer (profiled under bench:compare); the SDK only needs the status, the headers and a body it
 * can iterate or read as text.
 *
 * What stays as fetch does it: redirects are followed (at most 20, POST becoming GET on 301/302
 * and 303), a compressed answer is decoded, the caller's signal aborts the request and the body
 * (as an AbortError, which the SDK treats as a cancel), connection errors reject (the SDK wraps
 * them in APIConnectionError, their `code` underneath). What is not a plain string body to a URL (a FormData upload, a stream, a
 * Request object) goes to the global fetch unchanged.
 */
const dispatcher: Dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 20 }));

/**
 * Compression is not asked for (no accept-encoding: what the SDK streams is small events), but a
 * gateway that compresses anyway is decoded, as fetch would, error bodies included. (undici's own
 * decompress interceptor would do it, but it prints an ExperimentalWarning on stderr at boot.)
 */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

export async function dispatcherFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = init.body;
  if (!(typeof input === 'string' || input instanceof URL) || (body != null && typeof body !== 'string')) {
    return fetch(input, init);
  }
  const url = String(input);
  const answer = await request(url, {
    dispatcher,
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: requestHeaders(init.headers),
    body: body ?? null,
    signal: init.signal ?? undefined,
  });
  return new DispatcherResponse(answer, url) as unknown as Response;
}

/**
 * The part of a WHATWG Response the OpenAI SDK reads: status, headers, and a body that is async
 * iterable (its SSE reader iterates it; CancelReadableStream returns the iterator) or read whole
 * (error bodies, non-streamed answers).
 */
class DispatcherResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly body: Readable;
  readonly redirected = false;
  readonly type = 'basic';

  constructor(
    answer: Dispatcher.ResponseData,
    readonly url: string,
  ) {
    this.status = answer.statusCode;
    this.statusText = answer.statusText ?? '';
    this.headers = responseHeaders(answer.headers);
    const decoder = DECODERS[this.headers.get('content-encoding')?.trim().toLowerCase() ?? ''];
    // An abort or a broken connection destroys the answer's body, and the pipeline the decoder.
    this.body = decoder ? (pipeline(answer.body, decoder(), () => {}) as unknown as Readable) : answer.body;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.body.readableDidRead;
  }

  text(): Promise<string> {
    return text(this.body);
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return arrayBuffer(this.body);
  }

  blob(): ReturnType<typeof blob> {
    return blob(this.body);
  }
}

/** As undici takes them: a flat [name, value, …] list (what the SDK passes is a Headers). */
function requestHeaders(headers: RequestInit['headers']): string[] | Record<string, string> | undefined {
  if (headers == null) return undefined;
  if (Array.isArray(headers)) return headers.flat();
  if (typeof (headers as Headers).forEach === 'function') {
    const flat: string[] = [];
    (headers as Headers).forEach((value, name) => flat.push(name, value));
    return flat;
  }
  return headers as Record<string, string>;
}

function responseHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (Array.isArray(value)) for (const each of value) headers.append(name, each);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}
