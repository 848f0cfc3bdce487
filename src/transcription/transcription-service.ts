/** One recording to transcribe, as the client uploaded it. */
export interface AudioFile {
  bytes: Buffer;
  /** Its media type, e.g. `audio/webm` (parameters such as `;codecs=opus` removed). */
  mimeType: string;
  filename: string;
}

/**
 * The error codes of upstream's `/transcribe` (`@copilotkit/shared` TranscriptionErrorCode): the
 * React client turns each into its own message, so they are the wire's, not ours.
 */
export type TranscriptionErrorCode =
  | 'service_not_configured'
  | 'invalid_audio_format'
  | 'audio_too_long'
  | 'audio_too_short'
  | 'rate_limited'
  | 'auth_failed'
  | 'provider_error'
  | 'network_error'
  | 'invalid_request';

/** A transcription that failed for a reason the client should be told precisely. */
export class TranscriptionError extends Error {
  override readonly name = 'TranscriptionError';

  constructor(
    readonly code: TranscriptionErrorCode,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/**
 * Speech to text, for `POST <base>/transcribe`. Implement it to use another provider and give it
 * as `transcription.service`; the built-in one speaks OpenAI's audio API. Throws
 * TranscriptionError for failures the client should see as such; anything else is reported as a
 * provider error.
 */
export abstract class TranscriptionService {
  abstract transcribe(audio: AudioFile, signal: AbortSignal): Promise<string>;
}
