/**
 * The whole pipeline in one process: a source is produced into a memory stream while a consumer
 * scores and persists it — the embedded default behind `fraudstream score` and `fraudstream demo`.
 * The same code runs against Redis or Kinesis by swapping the reader and the store.
 */
import type { Feedback, RecordKeyMode } from '../events/index.js';
import type { FeatureSet } from '../features/index.js';
import type { Logger } from '../logging/index.js';
import { type Pacing, type ProduceSummary, produce } from '../producer/index.js';
import type { DriftMonitor, Scorer } from '../scoring/index.js';
import type { Source } from '../sources/index.js';
import type { Store } from '../store/index.js';
import { MemoryTransport, type StreamReader, type StreamWriter } from '../transports/index.js';
import { Consumer } from './consumer.js';
import type { ConsumerStats } from './consumer-options.js';

/** A stream other than the built-in memory one (e.g. Redis Streams), opened by the caller. */
export interface ExternalStream {
  writer: StreamWriter;
  reader: StreamReader;
}

export interface InProcessRunOptions {
  source: Source;
  /**
   * Where records travel between producer and consumer. A network stream never ends by itself,
   * so the run stops once the consumer has accounted for every produced record.
   * @default a bounded in-process memory stream
   */
  stream?: ExternalStream;
  store: Store;
  featureSet: FeatureSet;
  scorer: Scorer;
  /** @default { kind: 'max' } */
  pacing?: Pacing;
  /** Stop after this many records. @default all */
  count?: number;
  /** @default 500 */
  batchSize?: number;
  /** Longest wait for a batch to fill, in ms. @default 20 */
  maxWaitMs?: number;
  /** See `ConsumerOptions.simulatedFeedbackDelayDays`. */
  simulatedFeedbackDelayDays?: number;
  /** See `ConsumerOptions.pendingFeedback`. */
  pendingFeedback?: readonly Feedback[];
  /** See `ConsumerOptions.recordKey`. @default 'auto' */
  recordKey?: RecordKeyMode;
  logger?: Logger;
  signal?: AbortSignal;
  onBatch?: (stats: ConsumerStats) => void;
  /** See `ConsumerOptions.drift`. */
  drift?: DriftMonitor;
  /** Called with the consumer once it exists (its `stats` are live, e.g. for metrics during a stall). */
  onConsumer?: (consumer: Consumer) => void;
  /** See `ConsumerOptions.maxFutureSkewMs`. */
  maxFutureSkewMs?: number;
}

export interface InProcessRunResult {
  produced: ProduceSummary;
  consumed: ConsumerStats;
  consumer: Consumer;
  elapsedMs: number;
}

export async function runInProcess(options: InProcessRunOptions): Promise<InProcessRunResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 500;
  // A few batches of room: the producer feels backpressure instead of filling memory.
  const transport = options.stream ? undefined : new MemoryTransport({ capacity: batchSize * 8 });
  const writer = options.stream?.writer ?? transport!.writer();
  const reader =
    options.stream?.reader ?? transport!.reader({ maxBatch: batchSize, maxWaitMs: options.maxWaitMs ?? 20 });
  let target = Number.POSITIVE_INFINITY;
  const onBatch = options.onBatch;
  const consumer: Consumer = new Consumer({
    reader,
    store: options.store,
    featureSet: options.featureSet,
    scorer: options.scorer,
    ...(options.logger && { logger: options.logger }),
    ...(options.simulatedFeedbackDelayDays !== undefined && {
      simulatedFeedbackDelayDays: options.simulatedFeedbackDelayDays,
    }),
    ...(options.pendingFeedback && { pendingFeedback: options.pendingFeedback }),
    ...(options.drift && { drift: options.drift }),
    ...(options.recordKey && { recordKey: options.recordKey }),
    ...(options.maxFutureSkewMs !== undefined && { maxFutureSkewMs: options.maxFutureSkewMs }),
    onBatch: (stats) => {
      onBatch?.(stats);
      if (stats.persisted + stats.duplicates + stats.deadLettered >= target) void consumer.stop();
    },
  });
  options.onConsumer?.(consumer);
  const consuming = consumer.run();
  let produced: ProduceSummary;
  try {
    produced = await produce(options.source, writer, {
      ...(options.pacing && { pacing: options.pacing }),
      ...(options.count !== undefined && { count: options.count }),
      ...(options.signal && { signal: options.signal }),
      batchSize,
      format: 'auto',
    });
  } catch (err) {
    // A source that fails (a bad file) must not leave the consumer reading forever.
    transport?.end();
    await consumer.stop();
    throw err;
  }
  transport?.end();
  if (options.stream) {
    target = produced.sent;
    const s = consumer.stats;
    if (s.persisted + s.duplicates + s.deadLettered >= target) await consumer.stop();
  }
  const consumed = await consuming;
  return { produced, consumed, consumer, elapsedMs: performance.now() - started };
}
