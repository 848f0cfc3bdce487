export { setup as default } from './pglite-template.js';
