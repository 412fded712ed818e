import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { ConfigError } from '../errors/index.js';
import type { ConsumerStats } from '../pipeline/index.js';
import { DECISIONS } from '../store/index.js';

/** Options of {@link PipelineMetrics}. Only `stats` is required. */
export interface PipelineMetricsOptions {
  /**
   * The consumer's running totals (`ConsumerStats`, as its `onBatch` hands them over), or
   * `undefined` before the first batch. Read at each scrape, so the pipeline does no metrics
   * work per record.
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
 * as in tests, do not mix): records persisted, duplicated, dead-lettered and released, batches,
 * decisions by kind, the enqueue-to-persisted latency quantiles and the model version.
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
      'Malformed records sent to the dead-letter destination with their reason.',
      (s) => s.deadLettered,
    );
    total(
      'fraudstream_records_released_total',
      'Records released for redelivery after a feature-state or store failure.',
      (s) => s.released,
    );
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
