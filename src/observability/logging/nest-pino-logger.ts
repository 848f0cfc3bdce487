import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'pino';
import { logContextIn } from './log-context.js';

/** `[err-<uuid>] ...`: how the runtime starts a message about an error the client was told of. */
const ERROR_ID = /^\[(err-[0-9a-f-]{36})\]\s*/i;

/**
 * Nest's LoggerService on pino: every `new Logger(context)` of the runtime (and of Nest itself)
 * writes through the root logger, with `context` as a field and the `errorId` of a message that
 * starts with `[err-...]` as a field too (the message keeps it, for text logs). A LogContext among
 * the parameters (`logger.warn(message, ctx.log)`) gives the line its request, identity, thread and
 * run.
 */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Nest's shape: `error(message, stack?, context?)`, or an Error as the message. */
  error(message: unknown, ...params: unknown[]): void {
    const context = params.length > 0 && typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const rest = context === undefined ? params : params.slice(0, -1);
    const stack = rest.find((param) => typeof param === 'string') as string | undefined;
    const error = message instanceof Error ? message : (rest.find((param) => param instanceof Error) as Error | undefined);
    const fields: Record<string, unknown> = { context, ...logContextIn(rest), ...errorIdOf(message) };
    if (error) fields.err = error;
    else if (stack) fields.stack = stack;
    this.logger.error(fields, text(message));
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace' | 'fatal', message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = params.length > 0 && typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const fields: Record<string, unknown> = { context, ...logContextIn(params), ...errorIdOf(message) };
    if (typeof message === 'object' && message !== null && !(message instanceof Error)) {
      this.logger[level]({ ...fields, ...(message as object) });
      return;
    }
    this.logger[level](fields, text(message));
  }
}

function text(message: unknown): string {
  if (message instanceof Error) return message.message;
  return typeof message === 'string' ? message : JSON.stringify(message);
}

function errorIdOf(message: unknown): { errorId?: string } {
  if (typeof message !== 'string') return {};
  const match = ERROR_ID.exec(message);
  return match ? { errorId: match[1] } : {};
}
