import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MiddlewareStage } from './middleware-stage.js';

/**
 * Request middleware (`@CopilotMiddleware()` providers and the upstream-named module options),
 * plugged into the run pipeline as one policy stage.
 */
@Module({ imports: [DiscoveryModule], providers: [MiddlewareStage] })
export class MiddlewareModule {}
