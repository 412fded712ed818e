import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type ListShardsCommandInput,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { FraudstreamError, TransientStoreError } from '../../errors/index.js';
import { type DeliveredRecord, type ReadOptions, resolveReadOptions, type StreamReader } from '../types.js';
import {
  compareSequenceNumbers,
  errorMessage,
  isTransientKinesisError,
  kinesisPosition,
  splitKinesisPosition,
} from './common.js';
import type { ResolvedKinesisTransportOptions } from './options.js';

/** Most records one GetRecords call may return. */
const GET_RECORDS_MAX = 10_000;

/** One delivered record of a shard, kept until the checkpoint passes it. */
interface Delivery {
  sequenceNumber: string;
  deliveries: number;
  acked: boolean;
}

type Resume =
  | { type: 'TRIM_HORIZON' | 'LATEST' }
  | { type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

interface ShardState {
  readonly id: string;
  /** Parent shards (after a reshard) present in the listing; read this shard only after they end. */
  readonly parents: readonly string[];
  iterator: string | undefined;
  /** Where the next fresh iterator starts (after the last record read, or at a rewind point). */
  resume: Resume;
  /** A closed shard read to its end. */
  finished: boolean;
  nextReadAtMs: number;
  /** Consecutive failed calls. */
  failures: number;
  /** Bumped by each rewind, so a read that was in flight during a rewind is discarded. */
  epoch: number;
  /** Delivered, not yet checkpointed, in sequence order from `head`. */
  outstanding: Delivery[];
  head: number;
  bySequence: Map<string, Delivery>;
  /** Deliveries undone by a rewind, awaiting redelivery (keeps their counts and acks). */
  rewound: Map<string, Delivery>;
  /** Highest sequence number up to which every delivered record is acknowledged. */
  checkpoint: string | undefined;
  /** Serialises checkpoint saves so the store never goes backwards. */
  saving: Promise<void>;
}

const decoder = new TextDecoder();

/**
 * Reads every shard of a Kinesis stream with one shard iterator each (polling GetRecords).
 * Obtain one from `KinesisStreamTransport.reader()` or `openKinesisStreamReader()`.
 *
 * - Positions are `<shardId>/<sequenceNumber>`; `deliveries` is counted by this reader (Kinesis
 *   does not count) and survives rewinds but not restarts; `enqueuedAtMs` is Kinesis'
 *   `ApproximateArrivalTimestamp`.
 * - Kinesis has no per-record acknowledgement. {@link ack} advances a per-shard checkpoint: the
 *   highest sequence number up to which every delivered record is acknowledged. Checkpoints
 *   are exposed by {@link checkpoints} and saved to the optional `checkpointStore`, from which a
 *   restarted reader resumes just after them (AFTER_SEQUENCE_NUMBER).
 * - {@link release} rewinds the shard iterator to the earliest released record
 *   (AT_SEQUENCE_NUMBER), so it is delivered again — and so are the later records of that shard
 *   that were delivered but not acknowledged, also those still being processed elsewhere
 *   (at-least-once; the consumer is idempotent). Records acknowledged before the rewind are
 *   skipped rather than delivered again.
 * - GetRecords is called at most once per `pollIntervalMs` per shard (Kinesis allows five reads
 *   per second per shard); a throttled or failing shard backs off exponentially and the reader
 *   fails with `TransientStoreError` after `maxRetries` consecutive failures.
 * - After a reshard, a child shard is read once its parents are read to their end.
 */
export class KinesisStreamReader implements StreamReader {
  private readonly options: ResolvedKinesisTransportOptions;
  private readonly client: KinesisClient;
  private readonly releaseClient: () => Promise<void>;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly shards = new Map<string, ShardState>();
  /** Aborts in-flight calls on close. */
  private readonly abort = new AbortController();

  private started?: Promise<void>;
  private relistNeeded = false;
  private cursor = 0;
  private closing = false;
  private closed?: Promise<void>;
  private iterating = false;
  private wakeSleep?: () => void;

  /** @internal */
  constructor(
    options: ResolvedKinesisTransportOptions,
    client: KinesisClient,
    readOptions: ReadOptions,
    releaseClient: () => Promise<void>,
  ) {
    this.options = options;
    this.client = client;
    this.releaseClient = releaseClient;
    ({ maxBatch: this.maxBatch, maxWaitMs: this.maxWaitMs } = resolveReadOptions(readOptions));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly DeliveredRecord[]> {
    if (this.iterating)
      throw new FraudstreamError('a KinesisStreamReader can be iterated by one loop at a time');
    this.iterating = true;
    try {
      while (!this.closing) {
        let batch: DeliveredRecord[];
        try {
          batch = await this.nextBatch();
        } catch (error) {
          if (this.closing) break;
          throw error;
        }
        // Nothing is lost by dropping a batch read while closing: it was never acknowledged.
        if (this.closing) break;
        yield batch;
      }
    } finally {
      this.iterating = false;
    }
  }

  /**
   * Advances each shard's checkpoint over the records now acknowledged (and contiguous with
   * it), and saves the new checkpoints to the `checkpointStore` if there is one.
   */
  async ack(records: readonly DeliveredRecord[]): Promise<void> {
    const touched = new Set<ShardState>();
    for (const record of records) {
      const [shard, sequenceNumber] = this.locate(record);
      const delivery = shard.bySequence.get(sequenceNumber) ?? shard.rewound.get(sequenceNumber);
      if (delivery) delivery.acked = true;
      touched.add(shard);
    }
    await Promise.all([...touched].map((shard) => this.advance(shard)));
  }

  /**
   * Rewinds each shard to its earliest released record: that record and every later one of the
   * shard not yet acknowledged is delivered again, with `deliveries` + 1.
   */
  async release(records: readonly DeliveredRecord[]): Promise<void> {
    const earliest = new Map<ShardState, string>();
    for (const record of records) {
      const [shard, sequenceNumber] = this.locate(record);
      // Released means not processed, whatever ack() was told before.
      const delivery = shard.bySequence.get(sequenceNumber) ?? shard.rewound.get(sequenceNumber);
      if (delivery) delivery.acked = false;
      if (shard.checkpoint !== undefined && compareSequenceNumbers(sequenceNumber, shard.checkpoint) <= 0)
        continue;
      const current = earliest.get(shard);
      if (current === undefined || compareSequenceNumbers(sequenceNumber, current) < 0) {
        earliest.set(shard, sequenceNumber);
      }
    }
    for (const [shard, sequenceNumber] of earliest) rewind(shard, sequenceNumber);
  }

  /** Current checkpoint of each shard that has one: every record up to it is acknowledged. */
  checkpoints(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const shard of this.shards.values())
      if (shard.checkpoint !== undefined) out[shard.id] = shard.checkpoint;
    return out;
  }

  /** Stops polling (aborting a call in flight), waits for checkpoint saves, ends the iteration. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.abort.abort();
      this.wakeSleep?.();
      await Promise.allSettled([...this.shards.values()].map((shard) => shard.saving));
      await this.releaseClient();
    })();
    return this.closed;
  }

  private locate(record: DeliveredRecord): [ShardState, string] {
    const [shardId, sequenceNumber] = splitKinesisPosition(record.position);
    const shard = this.shards.get(shardId);
    if (!shard) throw new FraudstreamError(`record is not from this reader: ${record.position}`);
    return [shard, sequenceNumber];
  }

  private async advance(shard: ShardState): Promise<void> {
    let last: string | undefined;
    while (shard.head < shard.outstanding.length && shard.outstanding[shard.head]!.acked) {
      const delivery = shard.outstanding[shard.head++]!;
      shard.bySequence.delete(delivery.sequenceNumber);
      last = delivery.sequenceNumber;
    }
    if (shard.head > 1024 && shard.head * 2 > shard.outstanding.length) {
      shard.outstanding = shard.outstanding.slice(shard.head);
      shard.head = 0;
    }
    if (last === undefined) return;
    shard.checkpoint = last;
    const store = this.options.checkpointStore;
    if (!store) return;
    // Each save writes the checkpoint current when it runs; chained, they never go backwards.
    const save = shard.saving.then(() => store.save(shard.id, shard.checkpoint!));
    shard.saving = save.catch(() => {});
    try {
      await save;
    } catch (error) {
      throw new TransientStoreError(`saving the checkpoint of ${shard.id} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  private async start(): Promise<void> {
    const initial: Resume = { type: this.options.startFrom === 'latest' ? 'LATEST' : 'TRIM_HORIZON' };
    await this.addShards(await this.listShards(), initial);
  }

  /** Picks up shards created by a reshard; they start at their beginning. */
  private async relist(): Promise<void> {
    this.relistNeeded = false;
    await this.addShards(await this.listShards(), { type: 'TRIM_HORIZON' });
  }

  private async addShards(listed: readonly Shard[], initial: Resume): Promise<void> {
    const ids = new Set(listed.map((s) => s.ShardId!));
    const fresh = listed.filter((s) => !this.shards.has(s.ShardId!));
    const store = this.options.checkpointStore;
    const saved = await Promise.all(fresh.map((s) => (store ? store.load(s.ShardId!) : undefined)));
    fresh.forEach((s, i) => {
      const id = s.ShardId!;
      const checkpoint = saved[i];
      const parents = [s.ParentShardId, s.AdjacentParentShardId].filter(
        (p): p is string => p !== undefined && ids.has(p),
      );
      this.shards.set(id, {
        id,
        parents,
        iterator: undefined,
        resume:
          checkpoint === undefined ? initial : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: checkpoint },
        finished: false,
        nextReadAtMs: 0,
        failures: 0,
        epoch: 0,
        outstanding: [],
        head: 0,
        bySequence: new Map(),
        rewound: new Map(),
        checkpoint,
        saving: Promise.resolve(),
      });
    });
  }

  private async listShards(): Promise<Shard[]> {
    const out: Shard[] = [];
    let nextToken: string | undefined;
    do {
      // With a NextToken, ListShards refuses the stream name.
      const input: ListShardsCommandInput = nextToken
        ? { NextToken: nextToken }
        : { StreamName: this.options.streamName };
      const page = await this.call('ListShards', () =>
        this.client.send(new ListShardsCommand(input), { abortSignal: this.abort.signal }),
      );
      out.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return out;
  }

  /** Runs a call, retrying transient errors with backoff, and wraps what remains. */
  private async call<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { maxRetries, retryBaseMs } = this.options;
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (this.closing) throw error;
        if (!isTransientKinesisError(error)) {
          throw new FraudstreamError(`${what} on ${this.options.streamName} failed: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        if (i >= maxRetries) {
          throw new TransientStoreError(`${what} failed after ${i + 1} attempts: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        await this.sleep(retryBaseMs * 2 ** i);
      }
    }
  }

  private readable(shard: ShardState): boolean {
    if (shard.finished) return false;
    for (const parent of shard.parents) if (!this.shards.get(parent)?.finished) return false;
    return true;
  }

  /** Polls the shards round-robin until some records arrive or `maxWaitMs` has passed. */
  private async nextBatch(): Promise<DeliveredRecord[]> {
    this.started ??= this.start();
    await this.started;
    const deadline = Date.now() + this.maxWaitMs;
    const out: DeliveredRecord[] = [];
    for (;;) {
      if (this.relistNeeded) await this.relist();
      const shards = [...this.shards.values()].filter((s) => this.readable(s));
      // Start each round at the next shard, so a busy shard cannot starve the others.
      const first = shards.length > 0 ? this.cursor++ % shards.length : 0;
      for (let k = 0; k < shards.length && out.length < this.maxBatch && !this.closing; k++) {
        const shard = shards[(first + k) % shards.length]!;
        if (Date.now() >= shard.nextReadAtMs) await this.readShard(shard, out);
      }
      const now = Date.now();
      if (out.length > 0 || this.closing || now >= deadline) return out;
      let wakeAt = deadline;
      for (const shard of shards) if (shard.nextReadAtMs < wakeAt) wakeAt = shard.nextReadAtMs;
      await this.sleep(Math.max(1, wakeAt - now));
    }
  }

  private async readShard(shard: ShardState, out: DeliveredRecord[]): Promise<void> {
    const { streamName, pollIntervalMs, maxRetries, retryBaseMs } = this.options;
    const epoch = shard.epoch;
    let response: GetRecordsCommandOutput;
    try {
      if (shard.iterator === undefined) {
        const resume = shard.resume;
        const { ShardIterator } = await this.client.send(
          new GetShardIteratorCommand({
            StreamName: streamName,
            ShardId: shard.id,
            ShardIteratorType: resume.type satisfies ShardIteratorType,
            StartingSequenceNumber: 'sequenceNumber' in resume ? resume.sequenceNumber : undefined,
          }),
          { abortSignal: this.abort.signal },
        );
        if (epoch !== shard.epoch) return;
        shard.iterator = ShardIterator;
      }
      response = await this.getRecords(
        shard.iterator!,
        Math.min(this.maxBatch - out.length, GET_RECORDS_MAX),
      );
    } catch (error) {
      if (this.closing || epoch !== shard.epoch) return;
      if (error instanceof Error && error.name === 'ExpiredIteratorException') {
        // Idle longer than five minutes: get a fresh iterator where we stopped.
        shard.iterator = undefined;
        return;
      }
      if (!isTransientKinesisError(error)) {
        throw new FraudstreamError(`reading ${shard.id} of ${streamName} failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      if (shard.failures >= maxRetries) {
        throw new TransientStoreError(
          `reading ${shard.id} of ${streamName} failed ${shard.failures + 1} times in a row: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      shard.nextReadAtMs = Date.now() + Math.max(pollIntervalMs, retryBaseMs * 2 ** shard.failures++);
      return;
    }
    shard.failures = 0;
    shard.nextReadAtMs = Date.now() + pollIntervalMs;
    // A rewind while the call was in flight: these records come again from the rewind point.
    if (epoch !== shard.epoch) return;
    shard.iterator = response.NextShardIterator;
    let skippedAcked = false;
    for (const record of response.Records ?? []) {
      const sequenceNumber = record.SequenceNumber!;
      const before = shard.rewound.get(sequenceNumber);
      if (before) shard.rewound.delete(sequenceNumber);
      const delivery: Delivery = {
        sequenceNumber,
        deliveries: (before?.deliveries ?? 0) + 1,
        acked: before?.acked ?? false,
      };
      shard.outstanding.push(delivery);
      shard.bySequence.set(sequenceNumber, delivery);
      shard.resume = { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber };
      if (delivery.acked) {
        skippedAcked = true;
        continue;
      }
      out.push({
        payload: record.Data ? decoder.decode(record.Data) : '',
        position: kinesisPosition(shard.id, sequenceNumber),
        deliveries: delivery.deliveries,
        enqueuedAtMs: record.ApproximateArrivalTimestamp?.getTime() ?? Date.now(),
      });
    }
    if (skippedAcked) await this.advance(shard);
    if (response.NextShardIterator === undefined || response.NextShardIterator === null) {
      // A closed shard read to its end: its children (if any) may start now.
      shard.finished = true;
      this.relistNeeded = true;
    }
  }

  private getRecords(iterator: string, limit: number): Promise<GetRecordsCommandOutput> {
    return this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }), {
      abortSignal: this.abort.signal,
    });
  }

  /** Interruptible sleep: close() wakes it. */
  private sleep(ms: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }
}

/** Undoes the deliveries of `shard` from `sequenceNumber` on and points its next iterator there. */
function rewind(shard: ShardState, sequenceNumber: string): void {
  shard.epoch++;
  let cut = shard.head;
  while (
    cut < shard.outstanding.length &&
    compareSequenceNumbers(shard.outstanding[cut]!.sequenceNumber, sequenceNumber) < 0
  ) {
    cut++;
  }
  for (let i = cut; i < shard.outstanding.length; i++) {
    const delivery = shard.outstanding[i]!;
    shard.bySequence.delete(delivery.sequenceNumber);
    shard.rewound.set(delivery.sequenceNumber, delivery);
  }
  shard.outstanding.length = cut;
  shard.iterator = undefined;
  shard.resume = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber };
  shard.finished = false;
}
