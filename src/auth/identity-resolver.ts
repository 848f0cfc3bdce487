import type { IncomingHttpHeaders } from 'node:http';
import type { Identity } from '../common/request-context.js';

/**
 * Who is calling, from the request's headers. Threads belong to the identity that created them,
 * so this decides what a caller may read, join, stop or delete. Throws a CopilotRuntimeError
 * (AUTHENTICATION_ERROR) when credentials are required and missing or invalid.
 */
export abstract class IdentityResolver {
  abstract resolve(headers: IncomingHttpHeaders): Promise<Identity>;
}
