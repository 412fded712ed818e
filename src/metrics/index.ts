/**
 * Prometheus metrics of a running pipeline (prom-client): what the consumer persisted,
 * duplicated and dead-lettered (both destinations, by reason), whether it is stalled on a
 * failing store, its decisions, its latency and its model version,
 * plus the Node.js process metrics. Served at `/metrics` by the dashboard's HTTP server.
 */
export type { DriftFigures, PipelineMetricsOptions } from './pipeline-metrics.js';
export { LATENCY_QUANTILES, PipelineMetrics } from './pipeline-metrics.js';
