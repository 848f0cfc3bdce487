/** An action a remote endpoint executes (`POST /actions/execute`). */
export interface RemoteActionInfo {
  name: string;
  description: string;
  /** JSON Schema of its arguments, as the endpoint gave it. */
  parameters: Record<string, unknown>;
}

/** An agent a remote endpoint runs (`POST /agents/execute`). */
export interface RemoteAgentInfo {
  name: string;
  description: string;
  /** `langgraph` (also for the current SDK's object shape, which has no type) or `crewai`. */
  type: string;
}

export interface RemoteInfo {
  actions: RemoteActionInfo[];
  agents: RemoteAgentInfo[];
  sdkVersion?: string;
}

/**
 * Reads an `/info` answer in either shape: older SDKs list agents (`[{name, description, type}]`),
 * the current Python SDK keys them by name (`{"<name>": {name, description, className}}`, no
 * type: LangGraph). Entries without a usable name are skipped, with a note per skip in
 * `problems`, so one bad entry does not hide the endpoint's other actions and agents.
 */
export function parseRemoteInfo(answer: unknown): { info: RemoteInfo; problems: string[] } | { error: string } {
  if (!isRecord(answer)) return { error: 'the answer is not a JSON object' };
  const problems: string[] = [];
  const actions: RemoteActionInfo[] = [];
  const rawActions = answer.actions ?? [];
  if (!Array.isArray(rawActions)) return { error: '"actions" is not a list' };
  rawActions.forEach((entry, index) => {
    if (!isRecord(entry) || !isName(entry.name)) {
      problems.push(`actions[${index}] has no name`);
      return;
    }
    actions.push({
      name: entry.name,
      description: typeof entry.description === 'string' ? entry.description : '',
      parameters: isRecord(entry.parameters) ? entry.parameters : { type: 'object', properties: {} },
    });
  });

  const agents: RemoteAgentInfo[] = [];
  const rawAgents = answer.agents ?? [];
  const agentEntries: Array<[string, unknown]> = Array.isArray(rawAgents)
    ? rawAgents.map((entry, index) => [`agents[${index}]`, entry])
    : isRecord(rawAgents)
      ? Object.entries(rawAgents).map(([key, entry]) => [`agents.${key}`, isRecord(entry) ? { name: key, ...entry } : entry])
      : [];
  if (!Array.isArray(rawAgents) && !isRecord(rawAgents)) return { error: '"agents" is neither a list nor an object' };
  for (const [where, entry] of agentEntries) {
    if (!isRecord(entry) || !isName(entry.name)) {
      problems.push(`${where} has no name`);
      continue;
    }
    agents.push({
      name: entry.name,
      description: typeof entry.description === 'string' ? entry.description : '',
      type: typeof entry.type === 'string' && entry.type !== '' ? entry.type : 'langgraph',
    });
  }
  const sdkVersion = typeof answer.sdkVersion === 'string' ? answer.sdkVersion : undefined;
  return { info: { actions, agents, sdkVersion }, problems };
}

/** Names are tool names and URL segments (`/agent/:id/run`): non-empty, no spaces around, no "/". */
function isName(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '' && value === value.trim() && !value.includes('/');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
