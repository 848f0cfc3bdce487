import type { CopilotRuntimeOptions } from '../config/runtime-options.js';

/** Where the runtime is served when `path` is not configured (upstream's default too). */
export const DEFAULT_PATH = '/api/copilotkit';

/**
 * The base path both protocols share: GraphQL (HTTP and graphql-ws) at the path itself, the
 * AG-UI single-route envelope POSTed to it, the AG-UI REST routes under it.
 */
export class BasePath {
  /** As configured: Apollo and graphql-ws are mounted on exactly this. */
  readonly path: string;
  /** Without trailing slashes: the prefix of the routes under the base path. */
  readonly prefix: string;

  constructor(options: Pick<CopilotRuntimeOptions, 'path'>) {
    this.path = options.path ?? DEFAULT_PATH;
    this.prefix = this.path.replace(/\/+$/, '');
  }

  /** Nest's route pattern for everything under the base path (not the base path itself). */
  get subPathPattern(): string {
    return `${this.prefix}/{*path}`;
  }

  /**
   * The part of a request's path after the base path (`/info`, `/agent/x/run`), or null for the
   * base path itself, `<base>/` included (GraphQL's, and the single-route envelope's).
   */
  remainderOf(url: string): string | null {
    const { pathname } = new URL(url, 'http://localhost');
    if (!pathname.startsWith(`${this.prefix}/`)) return null;
    const remainder = pathname.slice(this.prefix.length);
    return remainder.replaceAll('/', '') === '' ? null : remainder;
  }
}
