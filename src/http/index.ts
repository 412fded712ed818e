/**
 * The HTTP API of `fraudstream serve`: synchronous scoring, feedback, transaction reads and
 * search, health and readiness, an OpenAPI 3.1 document generated from the route schemas,
 * Prometheus metrics, and the live dashboard on the same server.
 */
export type { ServerHandle } from './app.js';
export { buildServeApp, startServer } from './app.js';
export { ApiKeyCheck } from './auth.js';
export type { OpenApiInfo } from './openapi.js';
export { OpenApiCollector } from './openapi.js';
export type { ResolvedServeOptions, ServeOptions } from './options.js';
export { DEFAULT_SERVE_OPTIONS, resolveServeOptions } from './options.js';
export type { ScoreRequest } from './requests.js';
export { MAX_BATCH, parseFeedbackRequest, parseScoreRequest, scoreResult } from './requests.js';
