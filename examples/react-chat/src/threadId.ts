// The chat's thread id lives in the URL (?thread=…, shareable) and in localStorage (survives a
// reload of a bare URL). The runtime keeps the thread's history: on mount, <CopilotKit threadId>
// makes the chat call `POST /api/copilotkit/agent/default/connect`, which replays it.
const STORAGE_KEY = 'copilot-runtime-nest.react-chat.threadId';
const URL_PARAM = 'thread';

function newId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  // Not a secure context (e.g. a LAN IP over plain http): no randomUUID there.
  return `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function remember(threadId: string): string {
  try {
    localStorage.setItem(STORAGE_KEY, threadId);
  } catch {
    // storage disabled: the URL still carries it
  }
  const url = new URL(window.location.href);
  if (url.searchParams.get(URL_PARAM) !== threadId) {
    url.searchParams.set(URL_PARAM, threadId);
    window.history.replaceState(null, '', url);
  }
  return threadId;
}

export function currentThreadId(): string {
  const fromUrl = new URL(window.location.href).searchParams.get(URL_PARAM);
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  return remember(fromUrl || stored || newId());
}

export function startNewThread(): string {
  return remember(newId());
}

/** Continue an existing conversation (picked from the thread list). */
export function selectThread(threadId: string): string {
  return remember(threadId);
}
