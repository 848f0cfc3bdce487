/** Rounds → one figure per server and metric, the ratios ours/upstream, and the targets. */
import { median, percentile } from '../lib/stats.js';
import type { Protocol } from './drivers.js';
import type { TtftFloor } from './floor.js';
import type { ProfileName } from './profiles.js';
import type { RoundResult } from './rounds.js';
import type { ServerName } from './targets.js';

export interface ServerFigures {
  answers: number;
  failed: number;
  firstFailure?: string;
  /** Median over rounds. */
  deltasPerSecond: number;
  /** Over every answer of every round, minus aimock's own time to first token. */
  addedTtftP50Ms: number;
  addedTtftP99Ms: number;
  serverCpuMsPerAnswer: number;
  clientCpuMsPerAnswer: number;
  framesPerAnswer: number;
  readsPerAnswer: number;
  bytesPerAnswer: number;
  maxServerRssMiB: number;
}

export interface Cell {
  protocol: Protocol;
  profile: ProfileName;
  level: number;
  rounds: number;
  ours: ServerFigures;
  upstream: ServerFigures;
  /** The same number of streams started at once straight to aimock: what no server can go below. */
  floor: TtftFloor;
  /** ours / upstream. */
  ratios: {
    deltasPerSecond: number;
    serverCpuPerAnswer: number;
    clientCpuPerAnswer: number;
    framesPerAnswer: number;
    addedTtftP50: number;
    addedTtftP99: number;
  };
}

const round2 = (value: number) => (Number.isFinite(value) ? Number(value.toFixed(2)) : value);
const ratio = (ours: number, upstream: number) => round2(ours / upstream);

/** TTFT percentiles over every answer, minus aimock's lone baseline (the servers' figures and the floor). */
export function addedTtft(ttftsMs: number[], baselineTtftMs: number): TtftFloor {
  const added = ttftsMs.map((ttft) => ttft - baselineTtftMs).sort((a, b) => a - b);
  return { addedTtftP50Ms: round2(percentile(added, 50)), addedTtftP99Ms: round2(percentile(added, 99)) };
}

export function figuresOf(rounds: RoundResult[], baselineTtftMs: number): ServerFigures {
  const medianOf = (pick: (round: RoundResult) => number | null) =>
    round2(median(rounds.map(pick).filter((value): value is number => value !== null && Number.isFinite(value))));
  const failure = rounds.find((round) => round.firstFailure)?.firstFailure;
  return {
    answers: rounds.reduce((sum, round) => sum + round.answers, 0),
    failed: rounds.reduce((sum, round) => sum + round.failed, 0),
    ...(failure ? { firstFailure: failure } : {}),
    deltasPerSecond: medianOf((round) => round.deltasPerSecond),
    ...addedTtft(rounds.flatMap((round) => round.ttftMs), baselineTtftMs),
    serverCpuMsPerAnswer: medianOf((round) => round.serverCpuMsPerAnswer),
    clientCpuMsPerAnswer: medianOf((round) => round.clientCpuMsPerAnswer),
    framesPerAnswer: medianOf((round) => round.framesPerAnswer),
    readsPerAnswer: medianOf((round) => round.readsPerAnswer),
    bytesPerAnswer: medianOf((round) => round.bytesPerAnswer),
    maxServerRssMiB: round2(Math.max(...rounds.map((round) => round.serverRssBytes ?? 0)) / 1024 / 1024),
  };
}

export function cellOf(
  protocol: Protocol,
  profile: ProfileName,
  level: number,
  rounds: Record<ServerName, RoundResult[]>,
  baselineTtftMs: number,
  floor: TtftFloor,
): Cell {
  const ours = figuresOf(rounds.ours, baselineTtftMs);
  const upstream = figuresOf(rounds.upstream, baselineTtftMs);
  return {
    protocol,
    profile,
    level,
    rounds: rounds.ours.length,
    ours,
    upstream,
    floor,
    ratios: {
      deltasPerSecond: ratio(ours.deltasPerSecond, upstream.deltasPerSecond),
      serverCpuPerAnswer: ratio(ours.serverCpuMsPerAnswer, upstream.serverCpuMsPerAnswer),
      clientCpuPerAnswer: ratio(ours.clientCpuMsPerAnswer, upstream.clientCpuMsPerAnswer),
      framesPerAnswer: ratio(ours.framesPerAnswer, upstream.framesPerAnswer),
      addedTtftP50: ratio(ours.addedTtftP50Ms, upstream.addedTtftP50Ms),
      addedTtftP99: ratio(ours.addedTtftP99Ms, upstream.addedTtftP99Ms),
    },
  };
}

export interface TargetCheck {
  target: string;
  cell: string;
  value: number;
  met: boolean;
  /** What bounds the figure, where the cell measured it (the TTFT floor). */
  context?: string;
}

/** Issue 15's targets, as ratios in this bench (reported, not enforced). */
export function targetChecks(cells: Cell[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const cell of cells) {
    const name = `${cell.protocol} ${cell.profile} ×${cell.level}`;
    if (cell.profile === 'burst') {
      checks.push({ target: 'server CPU per answer ≤ 0.6× upstream', cell: name, value: cell.ratios.serverCpuPerAnswer, met: cell.ratios.serverCpuPerAnswer <= 0.6 });
      const relay = cell.protocol === 'v1' ? 1.2 : 1.5;
      checks.push({ target: `relay (deltas/s) ≥ ${relay}× upstream`, cell: name, value: cell.ratios.deltasPerSecond, met: cell.ratios.deltasPerSecond >= relay });
    }
    if (cell.profile === 'paced' && cell.level >= 100) {
      const alone = (ms: number, upstream: number) => `aimock alone ${ms} ms, upstream ${upstream} ms`;
      checks.push({ target: 'paced added TTFT p50 ≤ 5 ms', cell: name, value: cell.ours.addedTtftP50Ms, met: cell.ours.addedTtftP50Ms <= 5, context: alone(cell.floor.addedTtftP50Ms, cell.upstream.addedTtftP50Ms) });
      checks.push({ target: 'paced added TTFT p99 ≤ 50 ms', cell: name, value: cell.ours.addedTtftP99Ms, met: cell.ours.addedTtftP99Ms <= 50, context: alone(cell.floor.addedTtftP99Ms, cell.upstream.addedTtftP99Ms) });
    }
    checks.push({ target: 'parts/frames per answer ≤ 2× upstream', cell: name, value: cell.ratios.framesPerAnswer, met: cell.ratios.framesPerAnswer <= 2 });
    checks.push({ target: 'no failed answers', cell: name, value: cell.ours.failed, met: cell.ours.failed === 0 });
  }
  return checks;
}
