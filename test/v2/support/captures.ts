import { readFileSync } from 'node:fs';
import { contractFixture } from '../../support/contract-fixtures.js';
import { parseSse } from './v2-client.js';

/**
 * The upstream v2 wire captures (test/fixtures/contract/v2/wire): raw HTTP responses, some files
 * holding several (`### title` sections), some only an SSE body.
 */
const WIRE_DIR = contractFixture('v2/wire/');

export interface CapturedResponse {
  status: number | null;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

export function captureText(path: string): string {
  return readFileSync(new URL(path, WIRE_DIR), 'utf8');
}

export function captureJson(path: string): any {
  return JSON.parse(captureText(path));
}

/** One response; for a file of sections, the one whose title contains `section`. */
export function capture(path: string, section?: string): CapturedResponse {
  let text = captureText(path);
  if (section !== undefined) {
    const found = text.split(/^### /m).find((part) => part.split('\n')[0]!.includes(section));
    if (!found) throw new Error(`no section "${section}" in ${path}`);
    text = found.slice(found.indexOf('\n') + 1);
  }
  if (!text.startsWith('HTTP/')) return { status: null, headers: {}, body: text };
  const [head, ...rest] = text.split(/\r?\n\r?\n/);
  const [statusLine, ...headerLines] = head!.split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: rest.join('\n\n').trim() };
}

/** The events of a captured SSE body. */
export function capturedEvents(path: string, section?: string): Array<Record<string, any>> {
  return parseSse(capture(path, section).body + '\n\n').events;
}

/** A captured JSON body. */
export function capturedBody(path: string, section?: string): any {
  return JSON.parse(capture(path, section).body);
}
