import type { GuardrailsVerdict } from './guardrails-strategy.js';

/**
 * Verdicts per input, each kept `ttlMs`, at most `maxEntries` (the oldest entry goes first:
 * a Map keeps insertion order, and a hit is re-inserted). In memory, per process: a verdict is
 * cheap to recompute, so instances need not share it.
 */
export class VerdictCache {
  private readonly entries = new Map<string, { verdict: GuardrailsVerdict; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): GuardrailsVerdict | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.verdict;
  }

  set(key: string, verdict: GuardrailsVerdict): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { verdict, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
