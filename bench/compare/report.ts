/** bench/results/compare-bench.{json,md}: the comparison's figures, ratios and targets. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cell, TargetCheck } from './summary.js';

export interface CompareResults {
  status: 'completed' | 'failed';
  error?: string;
  startedAt: string;
  durationMs?: number;
  environment: Record<string, unknown>;
  settings: Record<string, unknown>;
  servers: Record<string, string>;
  baselineTtftMs: Record<string, number>;
  cells: Cell[];
  targets: TargetCheck[];
}

const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const times = (value: number) => `${fmt(value, 2)}×`;

export function markdown(results: CompareResults): string {
  const lines: string[] = [
    '# Side by side with upstream',
    '',
    `Status: ${results.status}${results.error ? ` (${results.error})` : ''}. Started ${results.startedAt}, ${fmt((results.durationMs ?? 0) / 1000, 0)} s.`,
    '',
    `Servers: ${Object.entries(results.servers).map(([name, label]) => `${name} = ${label}`).join('; ')}. ` +
      'Each runs as deployed: ours with the environment and node flags of `start:prod`, upstream with NODE_ENV=production; a fresh process of each server per protocol.',
    `Environment: ${JSON.stringify(results.environment)}.`,
    `Settings: ${JSON.stringify(results.settings)}.`,
    `aimock's own time to first token, subtracted from every TTFT: ${Object.entries(results.baselineTtftMs).map(([profile, ms]) => `${profile} ${fmt(ms, 2)} ms`).join(', ')}.`,
    '',
    'Every figure is ours vs upstream, and the ratio ours / upstream. Medians over rounds (TTFT: percentiles over every answer).',
    'Added TTFT also shows, in brackets, the floor at that level: as many streams started at once straight to aimock (plain fetch from the bench process, no runtime), minus the same baseline; what the load generator and the mock add on their own, and no server can go below.',
    'CPU is process CPU time (user + system) from /proc per answer; the clients are the bench process (aimock runs in its own).',
    '',
  ];
  for (const protocol of ['v1', 'v2'] as const) {
    for (const profile of ['burst', 'paced'] as const) {
      const cells = results.cells.filter((cell) => cell.protocol === protocol && cell.profile === profile);
      if (cells.length === 0) continue;
      lines.push(`## ${protocol}, ${profile} profile`, '');
      lines.push('| streams | deltas/s | added TTFT p50 (ms) | added TTFT p99 (ms) | server CPU per answer (ms) | client CPU per answer (ms) | parts/frames per answer | server RSS (MiB) | failed |');
      lines.push('|---:|---|---|---|---|---|---|---|---|');
      for (const cell of cells) {
        const { ours, upstream, ratios } = cell;
        lines.push(
          `| ${cell.level} | ${fmt(ours.deltasPerSecond, 0)} vs ${fmt(upstream.deltasPerSecond, 0)} (**${times(ratios.deltasPerSecond)}**) ` +
            `| ${fmt(ours.addedTtftP50Ms)} vs ${fmt(upstream.addedTtftP50Ms)} (${fmt(cell.floor.addedTtftP50Ms)}) | ${fmt(ours.addedTtftP99Ms)} vs ${fmt(upstream.addedTtftP99Ms)} (${fmt(cell.floor.addedTtftP99Ms)}) ` +
            `| ${fmt(ours.serverCpuMsPerAnswer)} vs ${fmt(upstream.serverCpuMsPerAnswer)} (**${times(ratios.serverCpuPerAnswer)}**) ` +
            `| ${fmt(ours.clientCpuMsPerAnswer)} vs ${fmt(upstream.clientCpuMsPerAnswer)} (${times(ratios.clientCpuPerAnswer)}) ` +
            `| ${fmt(ours.framesPerAnswer)} vs ${fmt(upstream.framesPerAnswer)} (${times(ratios.framesPerAnswer)}) ` +
            `| ${fmt(ours.maxServerRssMiB, 0)} vs ${fmt(upstream.maxServerRssMiB, 0)} | ${ours.failed} / ${upstream.failed} |`,
        );
      }
      lines.push('');
    }
  }
  if (results.targets.length) {
    lines.push('## Targets (issue 15)', '', '| target | where | value | met | for scale |', '|---|---|---:|---|---|');
    for (const check of results.targets) lines.push(`| ${check.target} | ${check.cell} | ${fmt(check.value, 2)} | ${check.met ? 'yes' : '**no**'} | ${check.context ?? ''} |`);
    lines.push('');
  }
  const failures = results.cells.flatMap((cell) =>
    (['ours', 'upstream'] as const).filter((server) => cell[server].firstFailure).map((server) => `- ${cell.protocol} ${cell.profile} ×${cell.level}, ${server}: ${cell[server].firstFailure}`),
  );
  if (failures.length) lines.push('## First failures', '', ...failures, '');
  return lines.join('\n');
}

export async function writeCompareResults(dir: string, results: CompareResults): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'compare-bench.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(dir, 'compare-bench.md'), markdown(results));
}
