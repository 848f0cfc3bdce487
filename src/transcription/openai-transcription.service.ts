import { TranscriptionError, TranscriptionService, type AudioFile } from './transcription-service.js';

export interface OpenAiTranscriptionSettings {
  /** e.g. `whisper-1`, `gpt-4o-mini-transcribe`. */
  model: string;
  /** The API's base URL, `/v1` included (`https://api.openai.com/v1`, or any compatible server). */
  baseUrl: string;
  apiKey?: string;
  /** How long one transcription may take. */
  timeoutMs: number;
}

/**
 * OpenAI's audio API (`POST {baseUrl}/audio/transcriptions`, multipart `file` + `model`), which
 * OpenAI-compatible servers (Groq, LocalAI, faster-whisper servers, ...) speak too. Provider
 * failures become the wire's error codes by HTTP status: 401/403 auth_failed, 429 rate_limited,
 * other 4xx provider_error with the provider's message, 5xx provider_error (retryable), no answer
 * network_error.
 */
export class OpenAiTranscriptionService extends TranscriptionService {
  constructor(readonly settings: OpenAiTranscriptionSettings) {
    super();
  }

  async transcribe(audio: AudioFile, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(audio.bytes)], { type: audio.mimeType }), audio.filename);
    form.append('model', this.settings.model);
    form.append('response_format', 'json');
    const headers: Record<string, string> = {};
    if (this.settings.apiKey) headers.authorization = `Bearer ${this.settings.apiKey}`;
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.settings.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`, {
        method: 'POST',
        headers,
        body: form,
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      const reason = timeout.aborted ? `no answer within ${this.settings.timeoutMs} ms` : describe(error);
      throw new TranscriptionError('network_error', `The transcription service could not be reached: ${reason}.`, true);
    }
    const text = await response.text();
    if (!response.ok) throw failure(response.status, providerMessage(text));
    try {
      const parsed = JSON.parse(text) as { text?: unknown };
      if (typeof parsed.text === 'string') return parsed.text;
    } catch {
      // Reported below.
    }
    throw new TranscriptionError('provider_error', 'The transcription service answered without a text.', true);
  }
}

function failure(status: number, message: string): TranscriptionError {
  if (status === 401 || status === 403) {
    return new TranscriptionError('auth_failed', `The transcription service refused the credentials (${status}).`);
  }
  if (status === 429) return new TranscriptionError('rate_limited', 'Rate limited. Please try again later.', true);
  if (status === 413) return new TranscriptionError('audio_too_long', `The transcription service refused the audio: ${message}`);
  return new TranscriptionError('provider_error', `The transcription service failed (${status}): ${message}`, status >= 500);
}

/** The provider's own error message (OpenAI: `{error: {message}}`), shortened. */
function providerMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof message === 'string' && message.trim() !== '') return message.slice(0, 300);
  } catch {
    // not JSON
  }
  return body.trim().slice(0, 300) || 'no details';
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
