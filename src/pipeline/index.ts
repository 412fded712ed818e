export { Consumer } from './consumer.js';
export type { ConsumerOptions, ConsumerStats, DeadLetterDestination } from './consumer-options.js';
export { DEFAULT_CONSUMER_OPTIONS, resolveConsumerOptions } from './consumer-options.js';
export { DEFAULT_MAX_FUTURE_SKEW_MS, EventTimeGuard } from './event-time.js';
export type { RecordFailure } from './failures.js';
export { bisect, isStoreFailure } from './failures.js';
export type { ExternalStream, InProcessRunOptions, InProcessRunResult } from './in-process.js';
export { runInProcess } from './in-process.js';
export type {
  KinesisBatchResponse,
  KinesisEventRecord,
  KinesisHandler,
  KinesisHandlerOptions,
  KinesisStreamEvent,
} from './kinesis-handler.js';
export { createKinesisHandler } from './kinesis-handler.js';
export type { LabHandlerFailure, LabHandlerResult } from './lab-handler.js';
export { handleLabRecords } from './lab-handler.js';
export { LatencyHistogram } from './latency.js';
export type { RequestScoreResult, RequestScorerOptions } from './request-scorer.js';
export { DEFAULT_REQUEST_SCORER_OPTIONS, RequestScorer } from './request-scorer.js';
export type { RecordOrigin } from './results.js';
export { scoredTransactions } from './results.js';
