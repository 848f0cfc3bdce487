/**
 * Headers that describe the inbound connection or body, not the request to the agent: forwarding
 * them would corrupt the agent's request. (HttpAgent sets Content-Type and Accept itself.)
 */
const CONNECTION_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
]);

/**
 * `forwarded` merged under `own`: a header the agent was configured with always wins, whatever
 * the letter case of either name (HTTP header names are case-insensitive, object keys are not).
 */
export function mergeForwardedHeaders(own: Record<string, string>, forwarded: Record<string, string> = {}): Record<string, string> {
  const taken = new Set(Object.keys(own).map((name) => name.toLowerCase()));
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(forwarded)) {
    const key = name.toLowerCase();
    if (typeof value !== 'string' || taken.has(key) || CONNECTION_HEADERS.has(key)) continue;
    taken.add(key);
    merged[name] = value;
  }
  return { ...merged, ...own };
}
