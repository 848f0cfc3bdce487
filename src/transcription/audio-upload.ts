import type { IncomingMessage } from 'node:http';
import { TranscriptionError, type AudioFile } from './transcription-service.js';

/** The audio types upstream accepts (an empty or octet-stream type is taken as webm, as upstream). */
export const ACCEPTED_AUDIO_TYPES = [
  'audio/mpeg',
  'audio/mp3',
  'audio/mp4',
  'audio/wav',
  'audio/webm',
  'audio/ogg',
  'audio/flac',
  'audio/aac',
] as const;

/** Bytes a WAV header alone takes: anything shorter holds no sound. */
const MIN_AUDIO_BYTES = 44;

/**
 * The recording of a `/transcribe` request, in either of the React client's forms:
 * - REST: `multipart/form-data` with the file in the field `audio`;
 * - single route: the envelope's JSON `body` `{audio: <base64 or data URL>, mimeType, filename?}`.
 * Checked before any provider is called: at most `maxBytes` of audio (413 audio_too_long, the
 * upload not even read to its end), an accepted type (400 invalid_audio_format), not empty (400
 * audio_too_short). Every refusal is a TranscriptionError naming what is wrong.
 */
export async function audioFromMultipart(req: IncomingMessage, maxBytes: number): Promise<AudioFile> {
  const contentType = req.headers['content-type'] ?? '';
  // The form's own overhead (boundaries, part headers) on top of the audio.
  const raw = await readLimited(req, maxBytes + 64 * 1024, maxBytes);
  let form: FormData;
  try {
    form = await new Request('http://localhost/transcribe', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
  } catch (error) {
    throw new TranscriptionError('invalid_request', `The multipart form could not be read: ${(error as Error).message}`);
  }
  const file = form.get('audio');
  if (file === null || typeof file === 'string') {
    throw new TranscriptionError('invalid_request', "No audio file found in form data. Please include an 'audio' field.");
  }
  const bytes = Buffer.from(await file.arrayBuffer());
  return checked({ bytes, mimeType: file.type, filename: file.name || 'recording.webm' }, maxBytes);
}

export function audioFromJson(body: unknown, maxBytes: number): AudioFile {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TranscriptionError('invalid_request', 'Request body must be a JSON object.');
  }
  const { audio, mimeType, filename } = body as { audio?: unknown; mimeType?: unknown; filename?: unknown };
  if (typeof audio !== 'string' || audio === '') {
    throw new TranscriptionError('invalid_request', "Request must include 'audio' field with base64-encoded audio data");
  }
  if (typeof mimeType !== 'string' || mimeType === '') {
    throw new TranscriptionError('invalid_request', "Request must include 'mimeType' field (e.g., 'audio/webm')");
  }
  const base64 = audio.includes(',') ? audio.slice(audio.indexOf(',') + 1) : audio;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64.replace(/\s+/g, ''))) {
    throw new TranscriptionError('invalid_request', 'Failed to decode base64 audio data');
  }
  if (Math.floor((base64.length * 3) / 4) > maxBytes + 3) throw tooLarge(maxBytes);
  const name = typeof filename === 'string' && filename.trim() !== '' ? filename.trim() : 'recording.webm';
  return checked({ bytes: Buffer.from(base64, 'base64'), mimeType, filename: name }, maxBytes);
}

function checked(audio: AudioFile, maxBytes: number): AudioFile {
  const baseType = audio.mimeType.split(';')[0]!.trim().toLowerCase();
  const mimeType = baseType === '' || baseType === 'application/octet-stream' ? 'audio/webm' : baseType;
  if (!(ACCEPTED_AUDIO_TYPES as readonly string[]).includes(mimeType)) {
    throw new TranscriptionError(
      'invalid_audio_format',
      `Unsupported audio format: ${audio.mimeType}. Supported: ${ACCEPTED_AUDIO_TYPES.join(', ')}`,
    );
  }
  if (audio.bytes.length > maxBytes) throw tooLarge(maxBytes);
  if (audio.bytes.length < MIN_AUDIO_BYTES) {
    throw new TranscriptionError('audio_too_short', `Audio is too short to transcribe (${audio.bytes.length} bytes).`);
  }
  return { ...audio, mimeType };
}

function tooLarge(maxBytes: number): TranscriptionError {
  return new TranscriptionError('audio_too_long', `The audio is larger than the limit of ${maxBytes} bytes.`);
}

/** The request body, refused (TranscriptionError) as soon as it passes `limit` bytes. */
function readLimited(req: IncomingMessage, limit: number, maxAudioBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(maxAudioBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drained, so that the answer can still be written
        reject(tooLarge(maxAudioBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
