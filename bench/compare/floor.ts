/**
 * The floor under every "added TTFT" figure at a level: the same number of streams started at
 * once, straight from the bench process to aimock (plain `fetch`, no runtime, no CopilotKit
 * client). Whatever TTFT this adds over aimock's lone baseline is the load generator's and the
 * mock's own share of a burst of starts on these cores; no server in between can add less.
 */
import { streamDirectFetch, StreamCheckError } from '../lib/streams.js';
import { promptFor, type CompareAnswer, type ProfileName } from './profiles.js';
import type { CompareSettings } from './settings.js';
import { addedTtft } from './summary.js';

export interface TtftFloor {
  /** Over every stream of every round, minus aimock's lone baseline. */
  addedTtftP50Ms: number;
  addedTtftP99Ms: number;
}

export async function measureTtftFloor(
  aimockBaseURL: string,
  model: string,
  profile: ProfileName,
  level: number,
  answer: CompareAnswer,
  baselineTtftMs: number,
  settings: CompareSettings,
): Promise<TtftFloor> {
  const ttfts: number[] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const timings = await Promise.all(
      Array.from({ length: level }, (_, index) =>
        streamDirectFetch(aimockBaseURL, { model, messages: [{ role: 'user', content: promptFor(profile, `floor-${level}-r${round}-${index}-${process.pid}`) }] }, settings.streamTimeoutMs),
      ),
    );
    for (const timing of timings) {
      if (timing.text !== answer.text) throw new StreamCheckError(`a direct ${profile} stream is not the answer aimock was set to send`);
      ttfts.push(timing.ttftMs);
    }
  }
  return addedTtft(ttfts, baselineTtftMs);
}
