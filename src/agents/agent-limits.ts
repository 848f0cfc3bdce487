import type { AgentLimits } from './agent-definition.js';

/**
 * The built-in limits, used when neither the agent nor `agentDefaults` sets one. Generous on
 * purpose: they exist to free a thread from an agent that hangs, not to police slow models.
 */
export const DEFAULT_AGENT_LIMITS: Readonly<Required<AgentLimits>> = Object.freeze({
  firstEventTimeoutMs: 60_000,
  idleTimeoutMs: 120_000,
  totalTimeoutMs: 600_000,
});

const LIMIT_NAMES = Object.keys(DEFAULT_AGENT_LIMITS) as Array<keyof AgentLimits>;

/**
 * An agent's effective limits: its own, else the runtime defaults, else the built-in ones.
 * Throws (failing boot) on a value that is not a whole number of milliseconds >= 0.
 */
export function resolveAgentLimits(agentId: string, own: AgentLimits = {}, defaults: AgentLimits = {}): Required<AgentLimits> {
  const limits = { ...DEFAULT_AGENT_LIMITS };
  for (const name of LIMIT_NAMES) {
    const value = own[name] ?? defaults[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      const origin = own[name] !== undefined ? `of agent '${agentId}'` : 'in agentDefaults';
      throw new Error(`Invalid limit ${name} ${origin}: ${String(value)} (use a whole number of milliseconds, 0 disables it).`);
    }
    limits[name] = value;
  }
  return limits;
}
