import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runtimeVersionFor } from './runtime-version.js';

/** Every response on the runtime path says which CopilotKit runtime version it speaks. */
@Injectable()
export class RuntimeVersionMiddleware implements NestMiddleware {
  use(req: IncomingMessage, res: ServerResponse, next: () => void): void {
    res.setHeader('x-copilotkit-runtime-version', runtimeVersionFor(req.headers['x-copilotkit-runtime-client-gql-version']));
    next();
  }
}
