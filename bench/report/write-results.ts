/** Writes the results files: stream-bench.json (everything measured) and stream-bench.md (the report). */
import { RESULTS_DIR } from '../config.js';
import { JSON_FILE, MARKDOWN_FILE, writeResultFile } from '../lib/report.js';
import type { BenchResults } from '../bench-results.js';
import { markdown } from './markdown.js';

export async function writeResults(results: BenchResults): Promise<{ json: string; md: string }> {
  const json = await writeResultFile(RESULTS_DIR, JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
  const md = await writeResultFile(RESULTS_DIR, MARKDOWN_FILE, markdown(results));
  return { json, md };
}
