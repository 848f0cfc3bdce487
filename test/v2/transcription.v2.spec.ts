import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAimock, type AimockServer } from '../support/aimock.js';
import { startRuntimeApp, type RuntimeApp } from '../support/runtime-app.js';
import { OpenAiTranscriptionService } from '../../src/transcription/openai-transcription.service.js';
import { TranscriptionError } from '../../src/transcription/transcription-service.js';
import { send } from './support/v2-client.js';

/**
 * Voice input (`POST /transcribe`), configured with an OpenAI-compatible audio API (aimock's
 * `/v1/audio/transcriptions`): the React client's two forms (REST multipart, single-route base64
 * JSON), `info.audioFileTranscriptionEnabled`, and the precise refusals (type, size, empty,
 * missing field) that reach no provider.
 */
const WAV = readFileSync(new URL('../fixtures/hello-tone.wav', import.meta.url));
const MAX_BYTES = 8_000;

describe('transcription, configured', () => {
  let llm: AimockServer;
  let rt: RuntimeApp;
  const transcriptionCalls = () => llm.mock.getRequests().filter((entry) => entry.path.endsWith('/audio/transcriptions'));

  /** As the React client's transcribeAudio sends it over REST. */
  const multipart = (bytes: Buffer, type: string, field = 'audio', filename = 'recording.wav') => {
    const form = new FormData();
    form.append(field, new Blob([new Uint8Array(bytes)], { type }), filename);
    return fetch(`${rt.url}/transcribe`, { method: 'POST', body: form });
  };
  const envelope = (body: unknown) =>
    send(rt.url, { body: JSON.stringify({ method: 'transcribe', body }), headers: { 'content-type': 'application/json' } });

  beforeAll(async () => {
    llm = await startAimock();
    llm.mock.onTranscription({ transcription: { text: 'Hello from the tone.' } });
    rt = await startRuntimeApp({
      llmBaseUrl: llm.baseURL,
      options: { transcription: { model: 'whisper-1', maxBytes: MAX_BYTES } },
    });
  });

  afterAll(async () => {
    await rt?.close();
    await llm?.stop();
  });

  it('info advertises it', async () => {
    const info = await send(`${rt.url}/info`, { method: 'GET' });
    expect(JSON.parse(info.text).audioFileTranscriptionEnabled).toBe(true);
  });

  it('REST multipart: the audio goes to the model, the text comes back as upstream answers it', async () => {
    const reply = await multipart(WAV, 'audio/wav');
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ text: 'Hello from the tone.', size: WAV.length, type: 'audio/wav' });
    // One call of the configured OpenAI-compatible endpoint (aimock answers only a transcription there).
    expect(transcriptionCalls().map((call) => [call.method, call.path])).toEqual([['POST', '/v1/audio/transcriptions']]);
  });

  it('single route: base64 JSON (a data URL too), as the client sends it on the envelope', async () => {
    const base64 = WAV.toString('base64');
    for (const audio of [base64, `data:audio/wav;base64,${base64}`]) {
      const reply = await envelope({ audio, mimeType: 'audio/wav', filename: 'recording.wav' });
      expect([reply.status, JSON.parse(reply.text)]).toEqual([200, { text: 'Hello from the tone.', size: WAV.length, type: 'audio/wav' }]);
    }
    // A codec parameter is the client's usual type (MediaRecorder's): accepted, reported bare.
    const webm = await envelope({ audio: base64, mimeType: 'audio/webm;codecs=opus' });
    expect(JSON.parse(webm.text)).toMatchObject({ type: 'audio/webm' });
  });

  it('refuses precisely, without calling the provider', async () => {
    const calls = transcriptionCalls().length;
    const answer = async (reply: Response | { status: number; text: string }) => {
      const body = 'json' in reply ? await reply.json() : JSON.parse(reply.text);
      return [reply.status, body.error, body.message];
    };
    expect(await answer(await multipart(WAV, 'text/plain'))).toEqual([
      400,
      'invalid_audio_format',
      'Unsupported audio format: text/plain. Supported: audio/mpeg, audio/mp3, audio/mp4, audio/wav, audio/webm, audio/ogg, audio/flac, audio/aac',
    ]);
    const big = Buffer.concat([WAV, WAV, WAV]);
    expect(await answer(await multipart(big, 'audio/wav'))).toEqual([413, 'audio_too_long', `The audio is larger than the limit of ${MAX_BYTES} bytes.`]);
    expect(await answer(await envelope({ audio: big.toString('base64'), mimeType: 'audio/wav' }))).toEqual([
      413,
      'audio_too_long',
      `The audio is larger than the limit of ${MAX_BYTES} bytes.`,
    ]);
    expect(await answer(await multipart(Buffer.alloc(10), 'audio/wav'))).toEqual([400, 'audio_too_short', 'Audio is too short to transcribe (10 bytes).']);
    expect(await answer(await multipart(WAV, 'audio/wav', 'file'))).toEqual([
      400,
      'invalid_request',
      "No audio file found in form data. Please include an 'audio' field.",
    ]);
    expect(await answer(await envelope({ audio: '%%%', mimeType: 'audio/wav' }))).toEqual([400, 'invalid_request', 'Failed to decode base64 audio data']);
    expect(await answer(await envelope({ audio: WAV.toString('base64') }))).toEqual([
      400,
      'invalid_request',
      "Request must include 'mimeType' field (e.g., 'audio/webm')",
    ]);
    const raw = await send(`${rt.url}/transcribe`, { body: 'not audio', headers: { 'content-type': 'text/plain' } });
    expect(await answer(raw)).toEqual([
      400,
      'invalid_request',
      'Request must be multipart/form-data with an audio field (or the single-route JSON form).',
    ]);
    expect(transcriptionCalls()).toHaveLength(calls);
    // And the process keeps serving.
    expect((await multipart(WAV, 'audio/wav')).status).toBe(200);
  });
});

describe('transcription, not configured', () => {
  let rt: RuntimeApp;

  beforeAll(async () => {
    rt = await startRuntimeApp();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('stays off: info says so, /transcribe is 503 service_not_configured', async () => {
    expect(JSON.parse((await send(`${rt.url}/info`, { method: 'GET' })).text).audioFileTranscriptionEnabled).toBe(false);
    const form = new FormData();
    form.append('audio', new Blob([new Uint8Array(WAV)], { type: 'audio/wav' }), 'recording.wav');
    const reply = await fetch(`${rt.url}/transcribe`, { method: 'POST', body: form });
    expect([reply.status, await reply.json()]).toEqual([
      503,
      { error: 'service_not_configured', message: 'Transcription service is not configured', retryable: false },
    ]);
  });
});

describe('OpenAiTranscriptionService: provider failures as the wire’s codes', () => {
  let server: http.Server;
  let baseUrl: string;
  let status = 200;
  let body = '';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  const transcribe = (url = baseUrl) =>
    new OpenAiTranscriptionService({ model: 'whisper-1', baseUrl: url, apiKey: 'k', timeoutMs: 5000 }).transcribe(
      { bytes: WAV, mimeType: 'audio/wav', filename: 'a.wav' },
      new AbortController().signal,
    );
  const failure = async (url?: string) => {
    const error = (await transcribe(url).catch((e: unknown) => e)) as TranscriptionError;
    expect(error).toBeInstanceOf(TranscriptionError);
    return [error.code, error.message, error.retryable];
  };

  it('maps statuses and a dead server', async () => {
    status = 401;
    body = JSON.stringify({ error: { message: 'Incorrect API key provided' } });
    expect(await failure()).toEqual(['auth_failed', 'The transcription service refused the credentials (401).', false]);
    status = 429;
    expect(await failure()).toEqual(['rate_limited', 'Rate limited. Please try again later.', true]);
    status = 400;
    body = JSON.stringify({ error: { message: 'Invalid file format.' } });
    expect(await failure()).toEqual(['provider_error', 'The transcription service failed (400): Invalid file format.', false]);
    status = 503;
    body = 'upstream down';
    expect(await failure()).toEqual(['provider_error', 'The transcription service failed (503): upstream down', true]);
    status = 200;
    body = JSON.stringify({ text: 'fine' });
    await expect(transcribe()).resolves.toBe('fine');
    const [code, message] = await failure('http://127.0.0.1:1/v1');
    expect(code).toBe('network_error');
    expect(message).toMatch(/^The transcription service could not be reached: /);
  });
});
