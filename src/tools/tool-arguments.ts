/**
 * A tool call's arguments as the model streamed them (JSON text; empty means none), parsed once
 * the call has ended. The reason is JSON.parse's, for a result the model can act on.
 */
export function parseToolArguments(raw: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (raw.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
