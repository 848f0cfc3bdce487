/** A line of a JSON-lines stream that is not JSON: which line, and how it starts. */
export class JsonLineError extends Error {
  constructor(
    readonly lineNumber: number,
    readonly excerpt: string,
    reason: string,
  ) {
    super(`line ${lineNumber} is not JSON (${reason}): ${excerpt}`);
    this.name = 'JsonLineError';
  }
}

/** The stream went silent for longer than allowed. */
export class JsonLinesIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`no data for ${idleMs} ms`);
    this.name = 'JsonLinesIdleError';
  }
}

const EXCERPT_LENGTH = 80;

/**
 * The JSON values of a JSON-lines body, one per non-blank line, as they arrive: a line may be
 * split across any number of network chunks (even inside a multi-byte character), and the last
 * line may lack its newline. A line that is not JSON throws JsonLineError (its number and
 * beginning); a silence longer than `idleMs` throws JsonLinesIdleError. The body is released
 * (cancelled) whenever reading stops early.
 */
export async function* readJsonLines(body: ReadableStream<Uint8Array>, options: { idleMs?: number } = {}): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let lineNumber = 0;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, options.idleMs);
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lineNumber += 1;
        const parsed = parseLine(line, lineNumber);
        if (parsed.present) yield parsed.value;
      }
      if (done) {
        finished = true;
        if (buffer.trim() !== '') {
          const parsed = parseLine(buffer, lineNumber + 1);
          if (parsed.present) yield parsed.value;
        }
        return;
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function parseLine(raw: string, lineNumber: number): { present: false } | { present: true; value: unknown } {
  const line = raw.trim();
  if (line === '') return { present: false };
  try {
    return { present: true, value: JSON.parse(line) as unknown };
  } catch (error) {
    const excerpt = line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH)}…` : line;
    throw new JsonLineError(lineNumber, excerpt, (error as Error).message);
  }
}

async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleMs: number | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (!idleMs) return reader.read();
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JsonLinesIdleError(idleMs)), idleMs);
  });
  try {
    return await Promise.race([reader.read(), silence]);
  } finally {
    clearTimeout(timer);
  }
}
