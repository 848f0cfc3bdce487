/**
 * The OpenAI SDK's SSE parsing, as patched by patches/openai+6.49.0.patch: each network read is
 * decoded to text once and split into lines by string search in one generator. Every event arrives
 * whole and in order however the bytes are cut, with the SDK's own line and event rules, and a
 * read that carries many events is parsed in linear work. Unpatched, each event copied the whole
 * rest of its read (a 1,000-token burst in one read copied ~N²/2 bytes); openai 7's fix of that
 * (openai-node#1913, #2324; Node 22) still copies each event's bytes twice and decodes per line.
 */
import { describe, expect, it } from '@jest/globals';
import { _iterSSEMessages, Stream } from 'openai/core/streaming';

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

describe('OpenAI SDK SSE parsing (patched)', () => {
  it.each(['\n', '\r\n', '\r'])('frames every event, whole and in order, with %j line ends however the reads are cut', async (newline) => {
    const { bytes, expected } = events(300, newline);
    expect(await parse([bytes])).toEqual(expected);
    for (const [seed, maxPiece] of [[1, 1], [2, 3], [3, 17], [4, 256], [5, 4096]] as const) {
      expect(await parse(cut(bytes, seed, maxPiece))).toEqual(expected);
    }
  });

  it('keeps the SDK\'s line and event rules (comments, event names, multi-line data, \\r line ends, UTF-8) however the bytes are cut', async () => {
    const wire =
      ': comment\nevent: thread.run\r\ndata: {"a":1}\r\n\r\n' +
      'data: first\rdata:second\r\r' +
      'id: 7\nretry: 10\ndata: é😀\n\n' +
      'data\n\n\n\n' +
      'data: unterminated';
    // What the unpatched SDK yields for this wire: ids and retries are kept only in `raw`, an
    // empty line without fields dispatches nothing, and an unterminated last event is dropped.
    const expected = [
      { event: 'thread.run', data: '{"a":1}', raw: [': comment', 'event: thread.run', 'data: {"a":1}'] },
      { event: null, data: 'first\nsecond', raw: ['data: first', 'data:second'] },
      { event: null, data: 'é😀', raw: ['id: 7', 'retry: 10', 'data: é😀'] },
      { event: null, data: '', raw: ['data'] },
    ];
    const bytes = new TextEncoder().encode(wire);
    const messages = async (pieces: Uint8Array[]) => {
      const out: unknown[] = [];
      for await (const message of _iterSSEMessages(sseBody(pieces), new AbortController())) out.push(message);
      return out;
    };
    expect(await messages([bytes])).toEqual(expected);
    // Every cut in two (inside \r\n, inside a multi-byte character), then every byte alone.
    for (let at = 1; at < bytes.length; at++) {
      expect(await messages([bytes.slice(0, at), bytes.slice(at)])).toEqual(expected);
    }
    expect(await messages(cut(bytes, 6, 1))).toEqual(expected);
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
    // The read is decoded to text without copying its bytes; unpatched, this read copies about
    // 2000 × (bytes / 2) bytes.
    expect(copied).toBeLessThan(4 * bytes.length);
  });
});
