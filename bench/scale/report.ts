/** bench/results/scale-bench.{json,md}: the levels, the subscriber memory and the issue's targets. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deployedCommandLine } from '../lib/server-process.js';
import type { LevelResult } from './levels.js';
import type { ScaleSettings } from './settings.js';
import type { SubscriberMemory } from './subscribers.js';

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean;
}

export interface ScaleResults {
  status: 'completed' | 'failed';
  startedAt: string;
  durationMs?: number;
  environment: Record<string, unknown>;
  settings: ScaleSettings;
  server: { label: string; nodeEnv?: Record<string, string>; nodeFlags: string[]; database: string; poolSize: string };
  baselineTtftMs: number | null;
  levels: LevelResult[];
  subscriberMemory: SubscriberMemory | null;
  targets: TargetCheck[];
  error?: string;
}

const SUBSCRIBER_TARGET_BYTES = 30 * 1024;

export function targetChecks(levels: LevelResult[], memory: SubscriberMemory | null): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const top = [...levels].sort((a, b) => b.streams - a.streams)[0];
  checks.push({
    target: '>= 1,000 concurrent paced streams on one instance (default pool)',
    value: top ? `${top.streams} streams: ${top.failed} failed, p99 lateness ${top.gapLatenessMs.p99} ms` : 'no level ran',
    met: Boolean(top && top.streams >= 1000 && top.failed === 0 && top.gapLatenessMs.p99 < 1000),
  });
  for (const level of levels) {
    checks.push({ target: `0 failures at ${level.streams} streams`, value: `${level.failed} failed${level.failed ? ` (${JSON.stringify(level.failuresByCode)})` : ''}`, met: level.failed === 0 });
    checks.push({ target: `p99 inter-token lateness < 1 s at ${level.streams} streams`, value: `${level.gapLatenessMs.p99} ms`, met: level.gapLatenessMs.p99 < 1000 });
  }
  if (memory) {
    for (const [name, value] of [
      ['graphql-ws subscriber (socket included)', memory.graphqlWsSubscriberBytes],
      ['v2 SSE connect subscriber', memory.sseSubscriberBytes],
    ] as const) {
      checks.push({ target: `memory per ${name} <= 30 KB`, value: value === null ? 'not measured' : `${kb(value)} KB`, met: value !== null && value <= SUBSCRIBER_TARGET_BYTES });
    }
  }
  return checks;
}

const kb = (bytes: number | null) => (bytes === null ? 'n/a' : (bytes / 1024).toFixed(1));
const mb = (bytes: number | null) => (bytes === null ? 'n/a' : (bytes / 1024 / 1024).toFixed(0));

function markdown(results: ScaleResults): string {
  const lines = [
    '# Scale bench: paced v2 streams on one instance',
    '',
    `Run ${results.startedAt} (${Math.round((results.durationMs ?? 0) / 1000)} s), status **${results.status}**${results.error ? `: ${results.error}` : ''}.`,
    '',
    `Server: ${results.server.label}, \`${deployedCommandLine(results.server)}\` (as \`start:prod\` runs it), ${results.server.database}, pool ${results.server.poolSize}. ` +
      `Answers: ${results.settings.tokens} tokens, one every ${results.settings.intervalMs} ms from @copilotkit/aimock (${results.settings.mockWorkers} processes), ` +
      `streams started over ${results.settings.rampMs} ms, clients: @ag-ui/client HttpAgent on agent/default/run in worker processes. ` +
      `Machine: ${results.environment.cpus} CPUs (${results.environment.cpuModel}), node ${results.environment.node}, load average at start ${JSON.stringify(results.environment.loadAverageAtStart)}. ` +
      `aimock's own TTFT (subtracted): ${results.baselineTtftMs} ms.`,
    '',
    'Lateness: per token after the first, the gap to the previous token minus the paced interval (the "schedule" column: arrival minus first token + index × interval, which also carries aimock\'s own timer drift). ' +
      'Database: transactions (pg_stat_database xact_commit + xact_rollback; pg_stat_statements is not loaded) and rows written. ' +
      'Client loop delay: the worst client worker\'s event-loop delay p99 — when it is high, the clients themselves lagged and the lateness is partly theirs.',
    '',
    '| streams | failed (by code) | gap lateness p50 / p99 / max ms | schedule lateness p99 ms | added TTFT p50 / p99 ms | server CPU µs/token | server cores | server RSS peak MB | DB xacts (per stream, per s) | rows written | client workers, loop delay p99 ms | aimock CPU ms | load avg |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const level of results.levels) {
    lines.push(
      `| ${level.streams} | ${level.failed}${level.failed ? ` ${JSON.stringify(level.failuresByCode)}` : ''} | ${level.gapLatenessMs.p50} / ${level.gapLatenessMs.p99} / ${level.gapLatenessMs.max} | ${level.scheduleLatenessMs.p99} | ` +
        `${level.addedTtftMs.p50} / ${level.addedTtftMs.p99} | ${level.serverCpuUsPerToken ?? 'n/a'} | ${level.serverCoreShare ?? 'n/a'} | ${mb(level.serverRssPeakBytes)} | ` +
        `${level.database ? `${level.database.transactions} (${level.database.transactionsPerStream}, ${level.database.transactionsPerSecond}/s)` : 'n/a'} | ${level.database?.rowsWritten ?? 'n/a'} | ` +
        `${level.clientWorkers}, ${level.clientEventLoopDelayP99Ms} | ${level.mockCpuMs ?? 'n/a'} | ${level.loadAverage.join(' ')} |`,
    );
  }
  const failures = results.levels.flatMap((level) => level.failureSamples.map((sample) => `- ${level.streams} streams: ${sample}`));
  if (failures.length) lines.push('', 'First failures:', '', ...failures);
  const memory = results.subscriberMemory;
  lines.push('', '## Memory of a subscriber to a live thread', '');
  if (memory) {
    lines.push(
      `${memory.subscribers} subscribers spread over ${memory.threads} live threads; (heapUsed + external) delta in the server after a full GC${memory.gcForced ? '' : ' (GC could NOT be forced: figures are rough)'}, per subscriber:`,
      '',
      '| what | KB (heap + external) | KB (RSS, noisy) |',
      '|---|---|---|',
      `| idle graphql-ws socket (acknowledged, no operation) | ${kb(memory.idleSocketBytes)} | |`,
      `| graphql-ws subscriber: socket + one threadEvents subscription | ${kb(memory.graphqlWsSubscriberBytes)} | ${kb(memory.rssPerGraphqlWsSubscriber)} |`,
      `| the threadEvents subscription alone | ${kb(memory.graphqlWsSubscriptionBytes)} | |`,
      `| v2 SSE agent/default/connect stream | ${kb(memory.sseSubscriberBytes)} | ${kb(memory.rssPerSseSubscriber)} |`,
      ...memory.notes.map((note) => `\n${note}`),
    );
  } else {
    lines.push('Not measured (SCALE_SUBSCRIBERS=0 or an earlier failure).');
  }
  lines.push('', '## Targets (issue 15, "Scale on one instance")', '', '| target | value | |', '|---|---|---|');
  for (const check of results.targets) lines.push(`| ${check.target} | ${check.value} | ${check.met ? 'met' : '**not met**'} |`);
  lines.push('');
  return lines.join('\n');
}

export async function writeScaleResults(dir: string, results: ScaleResults): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of [
    ['scale-bench.json', `${JSON.stringify(results, null, 2)}\n`],
    ['scale-bench.md', markdown(results)],
  ] as const) {
    await writeFile(join(dir, `${name}.tmp`), text);
    await rename(join(dir, `${name}.tmp`), join(dir, name));
  }
}

