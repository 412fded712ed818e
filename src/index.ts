/** Public API of fraudstream, re-exported module by module. */
export * from './errors/index.js';
export * from './events/index.js';
export { Random } from './random/index.js';
