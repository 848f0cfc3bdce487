// Runs the TypeScript sources directly in a child process, without a build:
//   node --import ./test/support/ts-loader/register.mjs src/main.ts
// The hooks (hooks.mjs) compile each .ts module with swc, exactly as Jest does (jest.config.js).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
