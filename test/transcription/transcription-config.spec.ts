import { describe, expect, it } from '@jest/globals';
import { parseEnvironment } from '../../src/config/environment.js';
import { optionsFromEnvironment } from '../../src/config/options-from-environment.js';
import { OpenAiTranscriptionService } from '../../src/transcription/openai-transcription.service.js';
import { TranscriptionService } from '../../src/transcription/transcription-service.js';
import { DEFAULT_TRANSCRIPTION_MAX_BYTES, transcriptionSettings } from '../../src/transcription/transcription.module.js';

/** Which transcription service the environment (or the module options) configure. */
describe('transcription configuration', () => {
  const settingsFor = (env: Record<string, string>) => transcriptionSettings(optionsFromEnvironment(parseEnvironment(env)));

  it('is off without TRANSCRIPTION_MODEL', () => {
    const settings = settingsFor({ OPENAI_API_KEY: 'sk-chat' });
    expect([settings.enabled, settings.service, settings.maxBytes]).toEqual([false, null, DEFAULT_TRANSCRIPTION_MAX_BYTES]);
  });

  it('uses the chat model’s OpenAI server and key unless given its own', () => {
    const shared = settingsFor({ TRANSCRIPTION_MODEL: 'whisper-1', OPENAI_API_KEY: 'sk-chat', OPENAI_BASE_URL: 'http://llm:8000/v1' });
    expect(shared.service).toBeInstanceOf(OpenAiTranscriptionService);
    expect((shared.service as OpenAiTranscriptionService).settings).toMatchObject({
      model: 'whisper-1',
      baseUrl: 'http://llm:8000/v1',
      apiKey: 'sk-chat',
    });
    const own = settingsFor({
      TRANSCRIPTION_MODEL: 'whisper-large-v3',
      TRANSCRIPTION_BASE_URL: 'http://whisper:9000/v1',
      TRANSCRIPTION_API_KEY: 'sk-audio',
      TRANSCRIPTION_MAX_BYTES: '1048576',
      OPENAI_API_KEY: 'sk-chat',
    });
    expect((own.service as OpenAiTranscriptionService).settings).toMatchObject({
      model: 'whisper-large-v3',
      baseUrl: 'http://whisper:9000/v1',
      apiKey: 'sk-audio',
    });
    expect(own.maxBytes).toBe(1_048_576);
    expect((settingsFor({ TRANSCRIPTION_MODEL: 'whisper-1' }).service as OpenAiTranscriptionService).settings.baseUrl).toBe(
      'https://api.openai.com/v1',
    );
  });

  it('refuses a bad limit at boot, naming the variable', () => {
    expect(() => parseEnvironment({ TRANSCRIPTION_MAX_BYTES: 'lots' })).toThrow(/TRANSCRIPTION_MAX_BYTES/);
  });

  it('takes your own service over a model', () => {
    class Echo extends TranscriptionService {
      async transcribe(): Promise<string> {
        return 'echo';
      }
    }
    const service = new Echo();
    expect(transcriptionSettings({ transcription: { service, model: 'whisper-1' } }).service).toBe(service);
  });
});
