/**
 * The built-in live web dashboard: a page with the reference lab's Grafana panels and more,
 * a JSON API and a server-sent event stream, all read from a `Store`.
 */
export type { DashboardOptions, MetricsText, PipelineStatus, ResolvedDashboardOptions } from './options.js';
export { DEFAULT_DASHBOARD_OPTIONS, resolveDashboardOptions } from './options.js';
export { InvalidQueryError } from './query.js';
export type { DashboardHandle } from './server.js';
export { guardServer, isLoopback, registerDashboard, startDashboard } from './server.js';
export type {
  DashboardSnapshot,
  DeadLetterSummary,
  DriftView,
  PipelineSummary,
  SeriesSummary,
  SnapshotRequest,
} from './snapshot.js';
export { readSnapshot, SCORE_SERIES_LABELS } from './snapshot.js';
export { DEFAULT_SEARCH_LIMIT, registerTransactionReads, searchQuery } from './transactions.js';
