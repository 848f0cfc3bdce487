import { Logger, type LoggerService } from '@nestjs/common';
import { inspect } from 'node:util';
import { newId } from '../common/ids.js';

/** What counts the rejections (RuntimeMetrics.unhandledRejections, when metrics are on). */
export interface RejectionCounter {
  inc(): void;
}

/** The part of `process` the guard listens on (a stand-in in tests). */
export type RejectionSource = Pick<NodeJS.Process, 'on' | 'off'>;

/**
 * Keeps the server alive through a promise rejection nobody handles. Without a listener, Node
 * (15+) ends the process on one: a library's stray rejection (an SDK's promise left unread when a
 * stream is cut short) would drop every stream and run of the instance. The rejection is a bug
 * somewhere, not a state the process cannot continue from, so it is logged as an error with an
 * errorId (and counted) and the server keeps serving. Uncaught exceptions keep Node's default (the
 * process ends): after a throw out of arbitrary code, its state is unknown.
 *
 * Installed by the server's entry point (main.ts), which owns its process; an application that
 * embeds the module owns its own process and its own policy.
 */
export class UnhandledRejectionGuard {
  private counter: RejectionCounter | null = null;
  private readonly onRejection = (reason: unknown): void => {
    const errorId = newId('err');
    const message = `[${errorId}] Unhandled promise rejection (the server keeps serving): ${describe(reason)}`;
    if (reason instanceof Error) this.logger.error(message, reason.stack);
    else this.logger.error(message);
    this.counter?.inc();
  };

  constructor(
    private readonly logger: LoggerService = new Logger('ProcessFaults'),
    private readonly source: RejectionSource = process,
  ) {}

  install(): this {
    this.source.on('unhandledRejection', this.onRejection);
    return this;
  }

  /** Counts the rejections from now on (the metrics exist once the application is built). */
  countWith(counter: RejectionCounter | null): this {
    this.counter = counter;
    return this;
  }

  uninstall(): void {
    this.source.off('unhandledRejection', this.onRejection);
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  return inspect(reason, { depth: 2, breakLength: Infinity });
}
