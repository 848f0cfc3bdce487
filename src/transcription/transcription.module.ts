import { Module } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { OpenAiTranscriptionService } from './openai-transcription.service.js';
import { TranscriptionService } from './transcription-service.js';

/** OpenAI's own upload limit for its audio API. */
export const DEFAULT_TRANSCRIPTION_MAX_BYTES = 25 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Options `transcription` of CopilotRuntimeModule. */
export interface TranscriptionOptions {
  /**
   * The model of an OpenAI-compatible audio API (`whisper-1`, ...): setting it turns
   * transcription on. Its base URL and key default to `llm.openai`'s.
   */
  model?: string;
  baseUrl?: string;
  apiKey?: string;
  /** Largest accepted recording, in bytes. Default 25 MB (OpenAI's limit). */
  maxBytes?: number;
  /** How long one transcription may take. Default 60000 ms. */
  timeoutMs?: number;
  /** Your own speech-to-text instead (takes precedence over `model`). */
  service?: TranscriptionService;
}

/** What `/transcribe` runs on: the service (null: not configured, 503) and its limit. */
export class TranscriptionSettings {
  constructor(
    readonly service: TranscriptionService | null,
    readonly maxBytes: number,
  ) {}

  get enabled(): boolean {
    return this.service !== null;
  }
}

export function transcriptionSettings(options: CopilotRuntimeOptions): TranscriptionSettings {
  const config = options.transcription ?? {};
  const maxBytes = config.maxBytes ?? DEFAULT_TRANSCRIPTION_MAX_BYTES;
  if (config.service) return new TranscriptionSettings(config.service, maxBytes);
  if (!config.model) return new TranscriptionSettings(null, maxBytes);
  const service = new OpenAiTranscriptionService({
    model: config.model,
    baseUrl: config.baseUrl ?? options.llm?.openai?.baseUrl ?? OPENAI_BASE_URL,
    apiKey: config.apiKey ?? options.llm?.openai?.apiKey,
    timeoutMs: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  return new TranscriptionSettings(service, maxBytes);
}

/** Speech to text for v2's `/transcribe` (see TranscriptionOptions). */
@Module({
  providers: [{ provide: TranscriptionSettings, inject: [RUNTIME_OPTIONS], useFactory: transcriptionSettings }],
  exports: [TranscriptionSettings],
})
export class TranscriptionModule {}
