/**
 * The CopilotKit version we answer with when a client does not say its own. The v1 client warns
 * when `X-CopilotKit-Runtime-Version` differs from its version, and echoing the client's own
 * version is safe: the wire contract is the same across 1.x.
 */
export const COMPATIBLE_COPILOTKIT_VERSION = '1.74.0';

const VERSION = /^\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[0-9A-Za-z.-]{1,32})?$/;

export function runtimeVersionFor(clientVersionHeader: string | string[] | undefined): string {
  const claimed = Array.isArray(clientVersionHeader) ? clientVersionHeader[0] : clientVersionHeader;
  return claimed && VERSION.test(claimed) ? claimed : COMPATIBLE_COPILOTKIT_VERSION;
}
