/**
 * An AWS Lambda handler for a Kinesis event source mapping with `ReportBatchItemFailures`:
 * the reference lab's Lambda done properly. Every record of the event is handled (the lab
 * returned after the first), malformed ones are dead-lettered, good ones are featured, scored
 * and persisted as one batch, and records that were not stored are reported back so that
 * Lambda retries them.
 *
 * Lambda retries a shard's batch from the lowest sequence number reported in
 * `batchItemFailures`, so everything from the earliest unstored record on is reported (it all
 * comes back anyway). Persistence is idempotent per record key (`<id>@<shardId>/<sequence>`),
 * so the retried records that had been stored are not stored twice.
 */
import { ConfigError, ParseError } from '../errors/index.js';
import {
  DEFAULT_RECORD_KEY_MODE,
  isRecordKeyMode,
  parsePayload,
  type RecordKeyMode,
  recordKey,
  type Transaction,
} from '../events/index.js';
import type { FeatureSet } from '../features/index.js';
import { type Logger, silentLogger } from '../logging/index.js';
import type { Scorer } from '../scoring/index.js';
import type { DeadLetter, PersistResult, Store } from '../store/index.js';
import { DEFAULT_MAX_FUTURE_SKEW_MS, EventTimeGuard } from './event-time.js';
import { RecentKeys } from './recent-keys.js';
import { scoredTransactions } from './results.js';

/** The part of a Lambda Kinesis event record the handler reads (as delivered by AWS Lambda). */
export interface KinesisEventRecord {
  /** `<shardId>:<sequenceNumber>`. */
  eventID: string;
  eventSource?: string;
  eventSourceARN?: string;
  kinesis: {
    /** The record's data, base64-encoded. */
    data: string;
    partitionKey: string;
    sequenceNumber: string;
    /** Arrival time in epoch seconds (with a fraction). */
    approximateArrivalTimestamp: number;
    kinesisSchemaVersion?: string;
  };
}

/** A Lambda event from a Kinesis event source mapping: records of one shard, in order. */
export interface KinesisStreamEvent {
  Records: KinesisEventRecord[];
}

/** Partial batch response: the records Lambda must retry, by sequence number. */
export interface KinesisBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Dependencies of {@link createKinesisHandler}, created once per Lambda container. */
export interface KinesisHandlerOptions {
  featureSet: FeatureSet;
  scorer: Scorer;
  store: Store;
  /** @default a silent logger */
  logger?: Logger;
  /**
   * How records are keyed in the store; see `ConsumerOptions.recordKey`.
   * @default 'auto'
   */
  recordKey?: RecordKeyMode;
  /**
   * A record dated more than this far ahead of the stream (and of the clock) is dead-lettered
   * with an `EventTimeError`, as in the consumer. `Infinity` turns the check off.
   * @default 86400000 (one day)
   */
  maxFutureSkewMs?: number;
}

/** Record keys a container remembers so that a retried batch does not teach the forest twice. */
const LEARNED_KEYS = 100_000;

export type KinesisHandler = (event: KinesisStreamEvent) => Promise<KinesisBatchResponse>;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

interface Good {
  index: number;
  tx: Transaction;
  position: string;
  enqueuedAtMs: number;
}

interface Bad {
  index: number;
  letter: DeadLetter;
}

/**
 * Builds the handler. Throws {@link ConfigError} if the model bundle was trained on another
 * feature set than `featureSet` computes.
 */
export function createKinesisHandler(options: KinesisHandlerOptions): KinesisHandler {
  const { featureSet, scorer, store } = options;
  const bundleFeatures = scorer.current.manifest.featureSet;
  if (bundleFeatures !== featureSet.name) {
    throw new ConfigError(
      `the model bundle was trained on the ${bundleFeatures} feature set but the handler computes ${featureSet.name}`,
    );
  }
  const keyMode = options.recordKey ?? DEFAULT_RECORD_KEY_MODE;
  if (!isRecordKeyMode(keyMode)) {
    throw new ConfigError(`recordKey must be auto, id or id@position, got ${String(keyMode)}`);
  }
  const log = options.logger ?? silentLogger();
  // Per container, like the forest they protect: Lambda retries a failed batch in the same one.
  const eventTime = new EventTimeGuard(options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS);
  const learned = new RecentKeys(LEARNED_KEYS);

  return async (event) => {
    const started = Date.now();
    const records = event.Records ?? [];
    const good: Good[] = [];
    const bad: Bad[] = [];
    records.forEach((record, index) => {
      const position = positionOf(record);
      const data = record.kinesis?.data ?? '';
      if (data.length % 4 !== 0 || !BASE64.test(data)) {
        bad.push({ index, letter: deadLetter(position, data, 'data: not base64', 'ParseError') });
        return;
      }
      const payload = Buffer.from(data, 'base64').toString('utf8');
      const parsed = parsePayload(payload);
      if (parsed instanceof ParseError) {
        bad.push({ index, letter: deadLetter(position, payload, parsed.message, parsed.name) });
        return;
      }
      const ahead = eventTime.admit(parsed.timestampMs);
      if (ahead) {
        bad.push({ index, letter: deadLetter(position, payload, ahead.message, ahead.name) });
        return;
      }
      const arrivalSeconds = record.kinesis.approximateArrivalTimestamp;
      good.push({
        index,
        tx: parsed,
        position,
        enqueuedAtMs: Number.isFinite(arrivalSeconds) ? Math.round(arrivalSeconds * 1000) : started,
      });
    });

    // Index of each record that was not stored; retrying can fix these, unlike parse errors.
    const failed: number[] = [];
    const [deadLettered, persisted] = await Promise.allSettled([
      bad.length > 0 ? store.deadLetter(bad.map((b) => b.letter)) : Promise.resolve(),
      good.length > 0 ? scoreAndPersist(good) : Promise.resolve({ written: 0, duplicates: 0 }),
    ]);
    if (deadLettered.status === 'rejected') {
      failed.push(...bad.map((b) => b.index));
      log.error({ err: String(deadLettered.reason), records: bad.length }, 'dead-lettering failed');
    } else {
      for (const b of bad)
        log.warn({ position: b.letter.position, reason: b.letter.reason }, 'dead-lettered');
    }
    if (persisted.status === 'rejected') {
      failed.push(...good.map((g) => g.index));
      log.error({ err: String(persisted.reason), records: good.length }, 'persist failed');
    }

    const batchItemFailures: { itemIdentifier: string }[] = [];
    if (failed.length > 0) {
      const earliest = Math.min(...failed);
      for (let i = earliest; i < records.length; i++) {
        batchItemFailures.push({
          itemIdentifier: records[i]!.kinesis?.sequenceNumber ?? records[i]!.eventID,
        });
      }
    }
    log.info(
      {
        records: records.length,
        persisted: persisted.status === 'fulfilled' ? persisted.value.written : 0,
        duplicates: persisted.status === 'fulfilled' ? persisted.value.duplicates : 0,
        deadLettered: deadLettered.status === 'fulfilled' ? bad.length : 0,
        failures: batchItemFailures.length,
        ms: Date.now() - started,
      },
      'kinesis batch',
    );
    return { batchItemFailures };
  };

  async function scoreAndPersist(good: readonly Good[]): Promise<PersistResult> {
    const n = good.length;
    const names = featureSet.featureNames;
    const transactions = good.map((g) => g.tx);
    // Per invocation, not per container: invocations may overlap when called outside Lambda.
    const features = new Float64Array(n * names.length);
    await featureSet.extract(transactions, features);
    // The scorer reuses its output arrays: copy everything out before the next await.
    const learn = new Uint8Array(n);
    for (let i = 0; i < n; i++)
      learn[i] = learned.add(recordKey(good[i]!.tx, good[i]!.position, keyMode)) ? 1 : 0;
    const scores = await scorer.scoreBatchAsync(features, n, transactions, learn);
    const results = scoredTransactions(transactions, good, names, features, scores, Date.now(), keyMode);
    return store.persistBatch(results);
  }
}

/**
 * `<shardId>/<sequenceNumber>`, the same position the Kinesis transport gives a record, so a
 * record stored by the handler and by a long-running consumer gets the same key.
 */
function positionOf(record: KinesisEventRecord): string {
  const sequenceNumber = record.kinesis?.sequenceNumber ?? '';
  const eventId = record.eventID ?? '';
  const colon = eventId.indexOf(':');
  const shardId = colon > 0 ? eventId.slice(0, colon) : 'unknown-shard';
  return `${shardId}/${sequenceNumber}`;
}

function deadLetter(position: string, payload: string, reason: string, errorName: string): DeadLetter {
  return { position, payload, reason, errorName, atMs: Date.now() };
}
