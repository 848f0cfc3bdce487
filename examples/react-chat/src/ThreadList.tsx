import { useAgent, useThreads } from '@copilotkit/react-core/v2';
import { useEffect, useRef, useState } from 'react';

// How often the list is fetched again while the page is visible. The runtime has no realtime
// channel for thread lists (upstream's is its hosted socket): the list is refetched after each
// run of this page, when the page comes back into view, and on this interval, so that renames,
// archives and deletes made in another tab show up.
const REFRESH_MS = 5_000;

/**
 * The conversations of this user with the default agent, newest first, from the runtime's thread
 * endpoints (`GET /api/copilotkit/threads`, through react-core's `useThreads`): pick one to
 * continue it (the chat reconnects and the runtime replays its history), rename or delete it.
 */
export function ThreadList({ activeThreadId, onSelect }: { activeThreadId: string; onSelect: (threadId: string) => void }) {
  const { threads, isLoading, error, hasMoreThreads, isFetchingMoreThreads, fetchMoreThreads, refetchThreads, renameThread, deleteThread } =
    useThreads({ agentId: 'default', limit: 20 });
  const { agent } = useAgent({ agentId: 'default' });
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState('');

  // A run of this page just ended: its thread is new, or has moved to the top.
  const wasRunning = useRef(false);
  useEffect(() => {
    if (wasRunning.current && !agent.isRunning) refetchThreads();
    wasRunning.current = agent.isRunning;
  }, [agent.isRunning, refetchThreads]);

  useEffect(() => {
    const refreshIfVisible = () => {
      if (document.visibilityState === 'visible') refetchThreads();
    };
    const timer = setInterval(refreshIfVisible, REFRESH_MS);
    window.addEventListener('focus', refreshIfVisible);
    document.addEventListener('visibilitychange', refreshIfVisible);
    return () => {
      clearInterval(timer);
      window.removeEventListener('focus', refreshIfVisible);
      document.removeEventListener('visibilitychange', refreshIfVisible);
    };
  }, [refetchThreads]);

  const saveName = async (threadId: string) => {
    setEditing(null);
    const name = draft.trim();
    if (name) await renameThread(threadId, name).catch((e: unknown) => console.error('rename failed', e));
  };

  return (
    <nav className="threads" data-testid="thread-list" aria-busy={isLoading}>
      <h2>Conversations</h2>
      {error && <p className="error">Could not load conversations: {error.message}</p>}
      <ul>
        {threads.map((thread) => (
          <li
            key={thread.id}
            className={thread.id === activeThreadId ? 'active' : undefined}
            data-testid="thread-item"
            data-thread-id={thread.id}
          >
            {editing === thread.id ? (
              <input
                autoFocus
                data-testid="thread-name-input"
                value={draft}
                onChange={(event) => setDraft(event.target.value)}
                onKeyDown={(event) => {
                  if (event.key === 'Enter') void saveName(thread.id);
                  if (event.key === 'Escape') setEditing(null);
                }}
                onBlur={() => setEditing(null)}
              />
            ) : (
              <button type="button" className="thread-open" data-testid="thread-open" onClick={() => onSelect(thread.id)}>
                <span className="thread-name">{thread.name ?? 'Untitled conversation'}</span>
                <span className="thread-time">{new Date(thread.updatedAt).toLocaleString()}</span>
              </button>
            )}
            <button
              type="button"
              data-testid="thread-rename"
              title="Rename"
              onClick={() => {
                setDraft(thread.name ?? '');
                setEditing(thread.id);
              }}
            >
              ✎
            </button>
            <button
              type="button"
              data-testid="thread-delete"
              title="Delete"
              disabled={thread.id === activeThreadId}
              onClick={() => deleteThread(thread.id).catch((e: unknown) => console.error('delete failed', e))}
            >
              🗑
            </button>
          </li>
        ))}
      </ul>
      {!isLoading && threads.length === 0 && <p className="hint">No conversations yet.</p>}
      {hasMoreThreads && (
        <button type="button" onClick={fetchMoreThreads} disabled={isFetchingMoreThreads}>
          More…
        </button>
      )}
    </nav>
  );
}
