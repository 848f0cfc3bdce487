/**
 * What a spec started and must close, tracked so that nothing outlives the spec file: when the
 * hook starting an app times out, the start goes on in the background and its `afterAll` finds
 * nothing to close; the app (its HTTP server, database pool, PGlite) would then keep Jest from
 * exiting. The integration project closes those leftovers after each spec file
 * (test/support/integration-tier.ts).
 */
interface Closable {
  close(): Promise<void>;
}

const open = new Set<Promise<Closable>>();

/** Tracks `starting` until its result is closed; returns it with a close that stops the tracking. */
export function closeAtTheLatestAfterTheSpec<T extends Closable>(starting: Promise<T>): Promise<T> {
  const tracked = starting.then((started) => {
    const close = started.close.bind(started);
    let closing: Promise<void> | undefined;
    started.close = () => {
      open.delete(tracked);
      closing ??= close();
      return closing;
    };
    return started;
  });
  open.add(tracked);
  tracked.catch(() => open.delete(tracked));
  return tracked;
}

/** Closes whatever is still open (or still starting), oldest first. */
export async function closeLeftovers(): Promise<void> {
  for (const starting of [...open]) {
    const started = await starting.catch(() => undefined);
    await started?.close();
  }
}
