/**
 * The OpenAI SDK's SSE framing, as patched by patches/openai+6.49.0.patch (a backport of
 * openai-node#1913 and #2324): every event arrives whole and in order however the bytes are cut,
 * and a read that carries many events is framed in linear work. Before the patch, each event
 * copied the whole rest of its read (a 1,000-token burst in one read copied ~N²/2 bytes).
 */
import { describe, expect, it } from '@jest/globals';
import { Stream } from 'openai/core/streaming';

function sseBody(pieces: Uint8Array[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

function events(count: number, newline: string): { bytes: Uint8Array; expected: Array<{ n: number; text: string }> } {
  const expected = Array.from({ length: count }, (_, n) => ({ n, text: `token ${n} ` + 'x'.repeat(n % 7) }));
  const wire = expected.map((event) => `data: ${JSON.stringify(event)}${newline}${newline}`).join('') + `data: [DONE]${newline}${newline}`;
  return { bytes: new TextEncoder().encode(wire), expected };
}

async function parse(pieces: Uint8Array[]): Promise<unknown[]> {
  const stream = Stream.fromSSEResponse<unknown>(sseBody(pieces), new AbortController());
  const out: unknown[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

/** Cuts bytes at pseudo-random points (a fixed seed: the same cuts every run). */
function cut(bytes: Uint8Array, seed: number, maxPiece: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let state = seed;
  for (let offset = 0; offset < bytes.length; ) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (state % maxPiece);
    pieces.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return pieces;
}

describe('OpenAI SDK SSE framing (patched)', () => {
  it.each(['\n', '\r\n', '\r'])('frames every event, whole and in order, with %j line ends however the reads are cut', async (newline) => {
    const { bytes, expected } = events(300, newline);
    expect(await parse([bytes])).toEqual(expected);
    for (const [seed, maxPiece] of [[1, 1], [2, 3], [3, 17], [4, 256], [5, 4096]] as const) {
      expect(await parse(cut(bytes, seed, maxPiece))).toEqual(expected);
    }
  });

  it('frames a read of many events in linear work: bytes copied stay proportional to the bytes read', async () => {
    const { bytes, expected } = events(2000, '\n');
    let copied = 0;
    const slice = Uint8Array.prototype.slice;
    const counting = function (this: Uint8Array, start?: number, end?: number) {
      const result = slice.call(this, start, end);
      copied += result.length;
      return result;
    };
    Uint8Array.prototype.slice = counting as typeof slice;
    let parsed: unknown[];
    try {
      parsed = await parse([bytes]);
    } finally {
      Uint8Array.prototype.slice = slice;
    }
    expect(parsed).toEqual(expected);
    // Each event is copied out once (plus the line decoder's own copies); unpatched, this read
    // copies about 2000 × (bytes / 2) bytes.
    expect(copied).toBeLessThan(4 * bytes.length);
  });
});
