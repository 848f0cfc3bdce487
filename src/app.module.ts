import { Module } from '@nestjs/common';
import { CopilotRuntimeModule } from './copilot-runtime.module.js';
import type { Environment } from './config/environment.js';
import { optionsFromEnvironment } from './config/options-from-environment.js';

/** The standalone server: the runtime module configured from the environment. */
@Module({})
export class AppModule {
  static forEnvironment(env: Environment) {
    return {
      module: AppModule,
      imports: [CopilotRuntimeModule.forRoot(optionsFromEnvironment(env))],
    };
  }
}
