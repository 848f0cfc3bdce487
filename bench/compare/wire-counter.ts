/**
 * Counts what crosses the wire to the clients, without changing it: the global fetch (which both
 * real clients use) is wrapped so that each streamed response body is scanned as it passes for
 * multipart part delimiters (v1) or SSE frame ends (v2), and its network reads are counted.
 */
const MULTIPART_DELIMITER = new TextEncoder().encode('\r\n---');
const SSE_FRAME_END = new TextEncoder().encode('\n\n');

export interface WireCounts {
  /** Multipart parts (v1) or SSE frames (v2) received. */
  frames: number;
  /** Network reads (body chunks) received. */
  reads: number;
  bytes: number;
}

const counts: WireCounts = { frames: 0, reads: 0, bytes: 0 };

/** The counts since the last call, then zero. */
export function takeWireCounts(): WireCounts {
  const taken = { ...counts };
  counts.frames = 0;
  counts.reads = 0;
  counts.bytes = 0;
  return taken;
}

function occurrences(bytes: Uint8Array, pattern: Uint8Array): number {
  let found = 0;
  outer: for (let index = 0; index <= bytes.length - pattern.length; index++) {
    for (let offset = 0; offset < pattern.length; offset++) if (bytes[index + offset] !== pattern[offset]) continue outer;
    found++;
    index += pattern.length - 1;
  }
  return found;
}

function counting(body: ReadableStream<Uint8Array>, pattern: Uint8Array): ReadableStream<Uint8Array> {
  // The last pattern.length - 1 bytes of a read are kept so that a delimiter split between two
  // reads is still counted once.
  let carry = new Uint8Array(0);
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        counts.reads++;
        counts.bytes += chunk.byteLength;
        const scanned = new Uint8Array(carry.length + chunk.length);
        scanned.set(carry);
        scanned.set(chunk, carry.length);
        counts.frames += occurrences(scanned, pattern);
        carry = scanned.slice(Math.max(0, scanned.length - (pattern.length - 1)));
        controller.enqueue(chunk);
      },
    }),
  );
}

let installed = false;

/** Wraps globalThis.fetch once for the whole bench process. */
export function installWireCounter(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const response = await original(input, init);
    const type = response.headers.get('content-type') ?? '';
    const pattern = /multipart\/mixed/i.test(type) ? MULTIPART_DELIMITER : /text\/event-stream/i.test(type) ? SSE_FRAME_END : null;
    if (!pattern || !response.body) return response;
    return new Response(counting(response.body, pattern), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
