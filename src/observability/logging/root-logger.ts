import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { SecretScrubber } from './secret-scrubber.js';

/** LOG_LEVEL (Nest's names) to pino's. */
const LEVELS = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' } as const;

export type LogLevelName = keyof typeof LEVELS;

export interface RootLoggerOptions {
  level: LogLevelName;
  /** `json`: one JSON object per line; `text`: pino-pretty, for a terminal. */
  format: 'json' | 'text';
  /** Secret values never to print (see secretsOf). */
  secrets: Iterable<string>;
  /** Where lines go. Default stdout, written synchronously (nothing lost at exit). */
  destination?: NodeJS.WritableStream;
}

/** Request headers that are credentials: never logged, whatever the level. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
];

/**
 * The process's one pino logger. Its message and error text go through the SecretScrubber; a line
 * of a request carries the LogContext its caller passed (see NestPinoLogger).
 */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const scrubber = new SecretScrubber(options.secrets);
  const destination =
    options.destination ??
    (options.format === 'text'
      ? pretty({ sync: true, messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: LEVELS[options.level],
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
      serializers: {
        err: (error: unknown) => scrubError(error, scrubber),
      },
      hooks: {
        // Strings in the call (the message and its interpolation values) are scrubbed.
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubber.scrub(arg) : arg));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

function scrubError(error: unknown, scrubber: SecretScrubber): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack']) {
    if (typeof serialized[key] === 'string') serialized[key] = scrubber.scrub(serialized[key] as string);
  }
  return serialized;
}
