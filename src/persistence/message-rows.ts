/**
 * The body of a CTE storing a thread's messages given as ONE jsonb array parameter, in order (it
 * becomes `seq` order), skipping ids the thread already has (clients resend the history); it runs
 * only when the CTE named `after` has a row. Used by the one-statement admission and run end (the
 * ConversationWriter's retrying path binds messages row by row instead). Placeholders are the caller's.
 */
export function insertMessagesSql(p: { after: string; threadId: string; runId: string; messages: string; createdAt: string }): string {
  return `
    INSERT INTO messages (thread_id, message_id, run_id, role, payload, created_at)
    SELECT ${p.threadId}, m.value->>'id', ${p.runId}, m.value->>'role', m.value, ${p.createdAt}
    FROM ${p.after}, jsonb_array_elements(${p.messages}::jsonb) WITH ORDINALITY AS m
    ORDER BY m.ordinality
    ON CONFLICT (thread_id, message_id) DO NOTHING`;
}
