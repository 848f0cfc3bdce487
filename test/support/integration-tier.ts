import { afterAll, jest } from '@jest/globals';
import { closeLeftovers } from './leftovers.js';

/**
 * Set up before every spec of the integration project (jest.config.js). Its specs boot whole apps
 * in their hooks, which on the embedded database of a busy 2-core machine can alone take 30 s:
 * this is a limit against hangs, not a speed requirement. (Jest takes the default timeout from
 * the global config only, so a project sets its own here.)
 */
jest.setTimeout(90_000);

// Runs after the spec's own afterAll hooks: closes what a timed-out hook started too late for them.
afterAll(() => closeLeftovers());
