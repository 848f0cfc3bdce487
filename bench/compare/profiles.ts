/** The answers the comparison streams, and the prompts that select them in aimock. */
export const COMPARE_MARKERS = { burst: 'compare-burst', paced: 'compare-paced' } as const;
export type ProfileName = keyof typeof COMPARE_MARKERS;

export interface CompareAnswer {
  text: string;
  /** Characters per SSE event: one token each. */
  chunkSize: number;
  tokens: number;
}

/** `t0000 t0001 ...`: every token the same width, so chunkSize = width gives one token per event. */
export function compareAnswer(tokens: number): CompareAnswer {
  const digits = String(tokens - 1).length;
  const text = Array.from({ length: tokens }, (_, index) => `t${String(index).padStart(digits, '0')} `).join('');
  return { text, chunkSize: digits + 2, tokens };
}

export const promptFor = (profile: ProfileName, key: string) => `${COMPARE_MARKERS[profile]}: answer with the text run=${key}`;
