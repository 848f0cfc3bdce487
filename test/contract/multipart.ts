/**
 * A strict reader for `multipart/mixed` GraphQL incremental-delivery bodies (the wire format of
 * the v1 contract), used to compare our raw bytes with the captured upstream ones.
 */
export interface MultipartPart {
  headers: Record<string, string>;
  body: any;
}

/** The boundary of a `multipart/mixed; boundary="-"` content type, or null. */
export function boundaryOf(contentType: string | null): string | null {
  const match = /boundary="?([^=";]+)"?/i.exec(contentType ?? '');
  return match ? match[1] : null;
}

/**
 * Splits a multipart body into its parts (RFC 2046: `CRLF--boundary` delimiters, a closing
 * `--boundary--`). Throws on anything malformed: missing close delimiter, a part without the
 * header/body separator, or a body that is not JSON.
 */
export function parseMultipart(raw: string, boundary: string): MultipartPart[] {
  const delimiter = `\r\n--${boundary}`;
  const segments = raw.split(delimiter);
  const preamble = segments.shift();
  if (preamble !== '') throw new Error(`Unexpected preamble before the first delimiter: ${JSON.stringify(preamble)}`);
  const last = segments.pop();
  if (last === undefined || !/^--\r\n?$|^--$/.test(last)) {
    throw new Error(`The body does not end with the close delimiter: ${JSON.stringify(last)}`);
  }
  return segments.map((segment, index) => {
    if (!segment.startsWith('\r\n')) throw new Error(`Part ${index} does not start with CRLF`);
    const separator = segment.indexOf('\r\n\r\n', 2);
    if (separator === -1) throw new Error(`Part ${index} has no header/body separator`);
    const headers: Record<string, string> = {};
    for (const line of segment.slice(2, separator).split('\r\n')) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: JSON.parse(segment.slice(separator + 4)) };
  });
}
