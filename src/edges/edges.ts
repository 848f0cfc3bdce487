import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_OPTIONS, type CopilotRuntimeOptions } from '../config/runtime-options.js';
import { resolveEdgeOptions, type ResolvedEdgeOptions } from './edge-options.js';
import { OriginPolicy } from './origin-policy.js';

/** The edges' resolved options and origin policy, one per application (EdgesModule). */
@Injectable()
export class Edges {
  readonly options: ResolvedEdgeOptions;
  /** null: `corsOrigins: false`, the host application owns CORS and origins are not checked. */
  readonly origins: OriginPolicy | null;

  constructor(@Inject(RUNTIME_OPTIONS) runtimeOptions: CopilotRuntimeOptions) {
    this.options = resolveEdgeOptions(runtimeOptions.edges, runtimeOptions.bodyLimit);
    this.origins = this.options.corsOrigins === false ? null : new OriginPolicy(this.options.corsOrigins);
  }
}
