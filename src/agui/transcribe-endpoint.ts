import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { newId } from '../common/ids.js';
import { audioFromJson, audioFromMultipart } from '../transcription/audio-upload.js';
import { TranscriptionError, type AudioFile, type TranscriptionErrorCode } from '../transcription/transcription-service.js';
import { TranscriptionSettings } from '../transcription/transcription.module.js';
import type { CallBody } from './agui-handlers.service.js';
import { transcriptionNotConfigured, type JsonAnswer } from './http-answers.js';

/** Upstream's statuses per error code (handle-transcribe); 413 for an upload over our limit. */
const STATUS: Record<TranscriptionErrorCode, number> = {
  service_not_configured: 503,
  invalid_audio_format: 400,
  audio_too_long: 413,
  audio_too_short: 400,
  rate_limited: 429,
  auth_failed: 401,
  provider_error: 500,
  network_error: 502,
  invalid_request: 400,
};

/**
 * `POST /transcribe` (and the envelope's `transcribe`): the recording, checked, goes to the
 * configured transcription service; the answer is upstream's `{text, size, type}`. Errors are
 * upstream's `{error: <code>, message, retryable}`, which the React client turns into its own
 * messages. Not configured: 503 `service_not_configured`, as before.
 */
@Injectable()
export class TranscribeEndpoint {
  private readonly logger = new Logger('Transcription');

  constructor(private readonly settings: TranscriptionSettings) {}

  get enabled(): boolean {
    return this.settings.enabled;
  }

  async serve(body: CallBody, req: IncomingMessage, signal: AbortSignal): Promise<JsonAnswer> {
    const service = this.settings.service;
    if (!service) {
      req.resume();
      return transcriptionNotConfigured();
    }
    try {
      const audio = await this.audio(body, req);
      const text = await service.transcribe(audio, signal);
      return { status: 200, body: { text, size: audio.bytes.length, type: audio.mimeType } };
    } catch (error) {
      if (error instanceof TranscriptionError) return answer(error);
      const errorId = newId('err');
      this.logger.error(`[${errorId}] transcription failed: ${(error as Error).message}`, (error as Error).stack);
      return answer(new TranscriptionError('provider_error', `Transcription failed. Quote ${errorId} to the operator.`, true));
    }
  }

  private async audio(body: CallBody, req: IncomingMessage): Promise<AudioFile> {
    const { maxBytes } = this.settings;
    if (body.from === 'envelope') return audioFromJson(body.value, maxBytes);
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    if (contentType.includes('multipart/form-data')) return audioFromMultipart(req, maxBytes);
    req.resume();
    throw new TranscriptionError('invalid_request', 'Request must be multipart/form-data with an audio field (or the single-route JSON form).');
  }
}

function answer(error: TranscriptionError): JsonAnswer {
  return { status: STATUS[error.code], body: { error: error.code, message: error.message, retryable: error.retryable } };
}
