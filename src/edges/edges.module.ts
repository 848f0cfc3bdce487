import { Global, Module } from '@nestjs/common';
import { CorsMiddleware } from './cors.middleware.js';
import { Edges } from './edges.js';

/**
 * The hardened edges' shared pieces: resolved limits and the origin policy. The HTTP edge mounts
 * CorsMiddleware first on the base path; the GraphQL transport applies the GraphQL and
 * WebSocket limits, both transports the run payload limits.
 */
@Global()
@Module({ providers: [Edges, CorsMiddleware], exports: [Edges, CorsMiddleware] })
export class EdgesModule {}
