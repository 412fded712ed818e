import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { LATENCY_QUANTILES, PipelineMetrics } from '../../src/metrics/index.js';
import { type ConsumerStats, LatencyHistogram } from '../../src/pipeline/index.js';

/** Samples of the Prometheus text format: `name{labels} value` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

function stats(): ConsumerStats {
  const latency = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) latency.record(i);
  return {
    persisted: 1234,
    duplicates: 5,
    deadLettered: 17,
    deadLetters: { store: { ParseError: 4, EventTimeError: 3 }, transport: { 'max-deliveries': 10 } },
    storeRetries: 3,
    stalledSinceMs: undefined,
    lastStoreError: undefined,
    batches: 12,
    decisions: { approve: 1200, review: 20, decline: 14 },
    latency,
    startedAtMs: 0,
  };
}

describe('PipelineMetrics', () => {
  it("exports the consumer's totals, decisions, latency quantiles and model version", async () => {
    const s = stats();
    let version = 'aaaa';
    const metrics = new PipelineMetrics({
      stats: () => s,
      modelVersion: () => version,
      processMetrics: false,
    });
    const got = samples(await metrics.text());
    expect(got.get('fraudstream_records_persisted_total')).toBe(1234);
    expect(got.get('fraudstream_records_duplicate_total')).toBe(5);
    expect(got.get('fraudstream_records_dead_lettered_total')).toBe(17);
    expect(got.get('fraudstream_dead_letters_total{reason="ParseError",destination="store"}')).toBe(4);
    expect(got.get('fraudstream_dead_letters_total{reason="EventTimeError",destination="store"}')).toBe(3);
    expect(got.get('fraudstream_dead_letters_total{reason="max-deliveries",destination="transport"}')).toBe(
      10,
    );
    expect(got.get('fraudstream_store_retries_total')).toBe(3);
    expect(got.get('fraudstream_stalled')).toBe(0);
    expect(got.get('fraudstream_stall_seconds')).toBe(0);
    expect(got.get('fraudstream_store_failing_since_seconds')).toBe(0);
    expect(got.get('fraudstream_batches_total')).toBe(12);
    expect(got.get('fraudstream_decisions_total{decision="approve"}')).toBe(1200);
    expect(got.get('fraudstream_decisions_total{decision="review"}')).toBe(20);
    expect(got.get('fraudstream_decisions_total{decision="decline"}')).toBe(14);
    for (const q of LATENCY_QUANTILES) {
      expect(got.get(`fraudstream_latency_seconds{quantile="${q}"}`)).toBeCloseTo(
        s.latency.quantile(q) / 1000,
        9,
      );
    }
    expect(got.get('fraudstream_model_info{version="aaaa"}')).toBe(1);
    expect(got.has('process_cpu_seconds_total')).toBe(false);
    // Read at each scrape: later totals and a reloaded model show up, the old version goes.
    s.persisted = 2000;
    version = 'bbbb';
    s.stalledSinceMs = Date.now() - 5_000;
    s.lastStoreError = 'StoreError: OOM command not allowed';
    const later = samples(await metrics.text());
    expect(later.get('fraudstream_records_persisted_total')).toBe(2000);
    expect(later.get('fraudstream_stalled')).toBe(1);
    expect(later.get('fraudstream_stall_seconds')).toBeGreaterThanOrEqual(5);
    expect(later.get('fraudstream_store_failing_since_seconds')).toBe(s.stalledSinceMs / 1000);
    expect(later.get('fraudstream_last_store_error_info{error="StoreError: OOM command not allowed"}')).toBe(
      1,
    );
    expect(later.get('fraudstream_model_info{version="bbbb"}')).toBe(1);
    expect(later.has('fraudstream_model_info{version="aaaa"}')).toBe(false);
  });

  it('exports zeros and no latency before the first batch, and process metrics by default', async () => {
    const metrics = new PipelineMetrics({ stats: () => undefined });
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const got = samples(await metrics.text());
    expect(got.get('fraudstream_records_persisted_total')).toBe(0);
    expect(got.get('fraudstream_decisions_total{decision="decline"}')).toBe(0);
    expect([...got.keys()].some((k) => k.startsWith('fraudstream_latency_seconds'))).toBe(false);
    expect([...got.keys()].some((k) => k.startsWith('fraudstream_model_info'))).toBe(false);
    expect(got.has('process_cpu_seconds_total')).toBe(true);
  });

  it('keeps each instance in its own registry', async () => {
    const a = new PipelineMetrics({ stats: () => ({ ...stats(), persisted: 1 }), processMetrics: false });
    const b = new PipelineMetrics({ stats: () => ({ ...stats(), persisted: 2 }), processMetrics: false });
    expect(samples(await a.text()).get('fraudstream_records_persisted_total')).toBe(1);
    expect(samples(await b.text()).get('fraudstream_records_persisted_total')).toBe(2);
    expect(() => new PipelineMetrics({} as never)).toThrow(ConfigError);
  });
});
