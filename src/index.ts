/**
 * Public API of fraudstream, module by module, in the order a transaction meets them:
 * sources → producer → transports → events (parsing) → features → models → scoring → store,
 * joined by the pipeline, the dashboard that reads the store and the pipeline's Prometheus metrics. The CLI (`fraudstream`) is
 * built on exactly these exports.
 */
export * from './config/index.js';
export * from './dashboard/index.js';
export * from './errors/index.js';
export * from './events/index.js';
export * from './features/index.js';
export * from './logging/index.js';
export * from './metrics/index.js';
export * from './models/gbdt/index.js';
export * from './models/metrics/index.js';
export * from './models/rcf/index.js';
export * from './pipeline/index.js';
export * from './producer/index.js';
export { Random } from './random/index.js';
export * from './redis/index.js';
export * from './scoring/index.js';
export * from './sources/index.js';
export * from './store/index.js';
export * from './transports/index.js';
