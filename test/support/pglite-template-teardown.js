export { teardown as default } from './pglite-template.js';
