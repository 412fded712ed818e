import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ConfigError } from '../errors/index.js';
import type { ConsumerStats } from '../pipeline/index.js';
import { DECISIONS } from '../store/index.js';

/** Options of {@link PipelineMetrics}. Only `stats` is required. */
export interface PipelineMetricsOptions {
  /**
   * The consumer's running totals (`Consumer.stats`, updated in place, so a stall shows while no
   * batch completes), or `undefined` before there is a consumer. Read at each scrape, so the
   * pipeline does no metrics work per record.
   */
  stats: () => ConsumerStats | undefined;
  /**
   * The version of the model bundle in use (it changes when a consumer reloads its bundle).
   * @default undefined (no `fraudstream_model_info` series)
   */
  modelVersion?: () => string | undefined;
  /**
   * Drift of live traffic from the training data (population stability index), read at scrape
   * time: `fraudstream_drift_psi{variable="fraud_score"|<feature>}`.
   * @default undefined (no drift series)
   */
  drift?: () => DriftFigures | null | undefined;
  /**
   * Also export the Node.js process metrics of prom-client (CPU, memory, event-loop lag, GC).
   * @default true
   */
  processMetrics?: boolean;
}

/** PSI figures as a drift monitor reports them (`DriftReport` of `src/scoring`). */
export interface DriftFigures {
  score: number | null;
  features: Record<string, number | null>;
  samples: number;
}

/** Quantiles of the enqueue-to-persisted latency exported as `fraudstream_latency_seconds`. */
export const LATENCY_QUANTILES = [0.5, 0.9, 0.99] as const;

/**
 * The pipeline's Prometheus metrics, in their own registry (several pipelines in one process,
 * as in tests, do not mix): records persisted, duplicated and dead-lettered (by reason and
 * destination), batches, store retries and the stall, decisions by kind, the enqueue-to-persisted latency quantiles and the model version.
 * Counter values are the consumer's own totals, read at scrape time.
 */
export class PipelineMetrics {
  readonly registry = new Registry();

  constructor(options: PipelineMetricsOptions) {
    if (typeof options?.stats !== 'function') throw new ConfigError('metrics: a stats() source is required');
    const { stats, modelVersion } = options;
    const registers = [this.registry];
    // Each counter mirrors one running total of the consumer at scrape time.
    const total = (name: string, help: string, read: (s: ConsumerStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const s = stats();
          this.inc(s ? read(s) : 0);
        },
      });
    };
    total(
      'fraudstream_records_persisted_total',
      'Records scored and persisted for the first time.',
      (s) => s.persisted,
    );
    total(
      'fraudstream_records_duplicate_total',
      'Redelivered records that were already stored (nothing changed).',
      (s) => s.duplicates,
    );
    total(
      'fraudstream_records_dead_lettered_total',
      "Records dead-lettered, in the store's and the transport's dead letters together.",
      (s) => s.deadLettered,
    );
    new Counter({
      name: 'fraudstream_dead_letters_total',
      help: "Dead letters by reason (error class, or the transport's reason) and destination (store | transport).",
      labelNames: ['reason', 'destination'],
      registers,
      collect() {
        this.reset();
        const s = stats();
        if (!s) return;
        for (const destination of ['store', 'transport'] as const) {
          for (const [reason, n] of Object.entries(s.deadLetters[destination]))
            this.inc({ reason, destination }, n);
        }
      },
    });
    total(
      'fraudstream_store_retries_total',
      'Batch steps retried because the store, feature state or transport failed (nothing dead-lettered).',
      (s) => s.storeRetries,
    );
    new Gauge({
      name: 'fraudstream_stalled',
      help: '1 while the consumer holds a batch because the store keeps failing, else 0.',
      registers,
      collect() {
        this.set(stats()?.stalledSinceMs === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'fraudstream_stall_seconds',
      help: 'How long the store has been failing (0 while it works).',
      registers,
      collect() {
        const since = stats()?.stalledSinceMs;
        this.set(since === undefined ? 0 : (Date.now() - since) / 1000);
      },
    });
    new Gauge({
      name: 'fraudstream_store_failing_since_seconds',
      help: 'Unix time the current store failure began (0 while the store works).',
      registers,
      collect() {
        const since = stats()?.stalledSinceMs;
        this.set(since === undefined ? 0 : since / 1000);
      },
    });
    new Gauge({
      name: 'fraudstream_last_store_error_info',
      help: 'The last store failure (value 1, the error as a label); kept after recovery.',
      labelNames: ['error'],
      registers,
      collect() {
        this.reset();
        const error = stats()?.lastStoreError;
        if (error !== undefined) this.set({ error }, 1);
      },
    });
    total('fraudstream_batches_total', 'Batches read, scored and acknowledged.', (s) => s.batches);
    new Counter({
      name: 'fraudstream_decisions_total',
      help: 'Persisted decisions by kind.',
      labelNames: ['decision'],
      registers,
      collect() {
        this.reset();
        const s = stats();
        for (const decision of DECISIONS) this.inc({ decision }, s?.decisions[decision] ?? 0);
      },
    });
    new Gauge({
      name: 'fraudstream_latency_seconds',
      help: 'Enqueue-to-persisted latency of persisted records since the start, by quantile.',
      labelNames: ['quantile'],
      registers,
      collect() {
        this.reset();
        const latency = stats()?.latency;
        if (!latency || latency.count === 0) return;
        for (const q of LATENCY_QUANTILES) this.set({ quantile: String(q) }, latency.quantile(q) / 1000);
      },
    });
    if (modelVersion) {
      new Gauge({
        name: 'fraudstream_model_info',
        help: 'The model bundle in use (value 1, version as a label).',
        labelNames: ['version'],
        registers,
        collect() {
          this.reset();
          const version = modelVersion();
          if (version) this.set({ version }, 1);
        },
      });
    }
    const { drift } = options;
    if (drift) {
      new Gauge({
        name: 'fraudstream_drift_psi',
        help: 'Population stability index of live traffic against the training distribution, over a sliding window.',
        labelNames: ['variable'],
        registers,
        collect() {
          this.reset();
          const report = drift();
          if (!report) return;
          if (report.score !== null) this.set({ variable: 'fraud_score' }, report.score);
          for (const [name, v] of Object.entries(report.features))
            if (v !== null) this.set({ variable: name }, v);
        },
      });
      new Gauge({
        name: 'fraudstream_drift_window_transactions',
        help: 'Transactions in the sliding window the drift figures are computed over.',
        registers,
        collect() {
          this.set(drift()?.samples ?? 0);
        },
      });
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Content type of {@link text}, for the HTTP response. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
