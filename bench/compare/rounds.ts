/**
 * One round: `level` answers from one server (concurrently; one after the other at level 1),
 * with the server's CPU time, the clients' CPU time and the wire counted around it. The servers
 * alternate round by round, so that whatever drifts on the machine hits both alike.
 */
import { CopilotRuntimeClient } from '@copilotkit/runtime-client-gql';
import { performance } from 'node:perf_hooks';
import { streamV1, streamV2, type AnswerTiming, type Protocol } from './drivers.js';
import { promptFor, type CompareAnswer, type ProfileName } from './profiles.js';
import type { CompareSettings } from './settings.js';
import { CLIENT_VERSION_HEADER, type Target } from './targets.js';
import { takeWireCounts } from './wire-counter.js';

export interface RoundResult {
  server: Target['server'];
  answers: number;
  failed: number;
  firstFailure?: string;
  wallMs: number;
  /** Text deltas the clients delivered per second, all streams together. */
  deltasPerSecond: number;
  ttftMs: number[];
  serverCpuMsPerAnswer: number | null;
  clientCpuMsPerAnswer: number;
  framesPerAnswer: number;
  readsPerAnswer: number;
  bytesPerAnswer: number;
  serverRssBytes: number | null;
}

let roundSequence = 0;

function clientFor(target: Target): CopilotRuntimeClient {
  return new CopilotRuntimeClient({ url: target.baseUrl, headers: { [CLIENT_VERSION_HEADER]: '1.74.0' } });
}

function streamOne(target: Target, client: CopilotRuntimeClient, protocol: Protocol, profile: ProfileName, answer: CompareAnswer, key: string, timeoutMs: number): Promise<AnswerTiming> {
  const prompt = promptFor(profile, key);
  return protocol === 'v1'
    ? streamV1(client, prompt, key, answer.text, timeoutMs)
    : streamV2(target.baseUrl, prompt, key, answer.text, timeoutMs);
}

export async function measureRound(
  target: Target,
  protocol: Protocol,
  profile: ProfileName,
  level: number,
  answer: CompareAnswer,
  settings: CompareSettings,
): Promise<RoundResult> {
  const round = ++roundSequence;
  const client = clientFor(target);
  const count = level === 1 ? settings.sequentialAnswers : level;
  const keys = Array.from({ length: count }, (_, index) => `${target.server}-${protocol}-${profile}-${level}-r${round}-${index}-${process.pid}`);
  const outcomes: Array<AnswerTiming | Error> = [];
  const run = (key: string) =>
    streamOne(target, client, protocol, profile, answer, key, settings.streamTimeoutMs).then(
      (timing) => void outcomes.push(timing),
      (error: unknown) => void outcomes.push(error instanceof Error ? error : new Error(String(error))),
    );

  takeWireCounts();
  const serverCpuBefore = await target.cpuMs();
  const clientCpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  if (level === 1) {
    for (const key of keys) await run(key);
  } else {
    await Promise.all(keys.map(run));
  }
  const wallMs = performance.now() - startedAt;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = await target.cpuMs();
  const wire = takeWireCounts();

  const timings = outcomes.filter((outcome): outcome is AnswerTiming => !(outcome instanceof Error));
  const failures = outcomes.filter((outcome): outcome is Error => outcome instanceof Error);
  const deltas = timings.reduce((sum, timing) => sum + timing.deltas, 0);
  return {
    server: target.server,
    answers: count,
    failed: failures.length,
    ...(failures[0] ? { firstFailure: failures[0].message.slice(0, 300) } : {}),
    wallMs,
    deltasPerSecond: (deltas * 1000) / wallMs,
    ttftMs: timings.map((timing) => timing.ttftMs),
    serverCpuMsPerAnswer: serverCpuBefore === null || serverCpuAfter === null ? null : (serverCpuAfter - serverCpuBefore) / count,
    clientCpuMsPerAnswer: (clientCpu.user + clientCpu.system) / 1000 / count,
    framesPerAnswer: wire.frames / count,
    readsPerAnswer: wire.reads / count,
    bytesPerAnswer: wire.bytes / count,
    serverRssBytes: await target.rssBytes(),
  };
}

/**
 * Answers one after the other, not measured, so that neither server is judged on its first
 * requests: `settleAnswers` when a server starts, `warmupAnswers` before each profile.
 */
export async function warmUp(
  target: Target,
  protocol: Protocol,
  profile: ProfileName,
  answer: CompareAnswer,
  settings: CompareSettings,
  phase: 'settle' | 'warmup' = 'warmup',
): Promise<void> {
  const client = clientFor(target);
  const count = phase === 'settle' ? settings.settleAnswers : settings.warmupAnswers;
  for (let index = 0; index < count; index++) {
    await streamOne(target, client, protocol, profile, answer, `${phase}-${target.server}-${protocol}-${profile}-${index}-${process.pid}`, settings.streamTimeoutMs);
  }
}
