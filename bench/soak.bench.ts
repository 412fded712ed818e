/**
 * Memory soak (issue 10): the embedded pipeline — simulator source, producer, memory transport,
 * consumer, `transactions` features on the memory window state, GBDT + RCF at defaults, memory
 * store — over 10 million transactions in one process. RSS is sampled (after a forced GC when
 * `--expose-gc` is on, as `npm run bench` runs) every 500,000 transactions; the target compares
 * the sample after the warm-up with the last one.
 *
 *   npm run bench -- soak       node --expose-gc dist/bench/soak.bench.js [--count 10000000] [--warmup 2000000]
 *
 * Not part of a plain `npm run bench` (it takes several minutes: 10M at the embedded rate). The
 * warm-up covers the memory store filling to its cap (`maxTransactions`, 1,000,000 documents, then
 * the oldest are dropped), so the figure shows whether anything else keeps growing.
 */
import { cpus } from 'node:os';
import { createFeatureSet } from '../src/features/index.js';
import { runInProcess } from '../src/pipeline/index.js';
import { Scorer } from '../src/scoring/index.js';
import { createSimulatorSource, type Source } from '../src/sources/index.js';
import { DEFAULT_MEMORY_STORE_OPTIONS, MemoryStore } from '../src/store/index.js';
import { trainDefault, world } from './pipeline.bench.js';
import { fmt, reportTarget } from './targets.js';

const HISTORY_DAYS = 45;
/** The memory store's series and counter retention in the soak (default: one hour). */
const SERIES_RETENTION_MS = 60_000;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 2 ** 20;
}

export async function main(args: string[]): Promise<void> {
  const count = flag(args, 'count', 10_000_000);
  const warmup = flag(args, 'warmup', Math.min(2_000_000, Math.floor(count / 5)));
  const every = Math.max(1, Math.min(500_000, Math.floor(count / 20)));
  console.log(
    `soak benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`,
  );
  console.log(
    `settings: ${fmt(count)} simulator transactions (default world, seed 0, after ${HISTORY_DAYS} days of history) through the embedded pipeline at max pace, batches of 500; memory store capped at ${fmt(DEFAULT_MEMORY_STORE_OPTIONS.maxTransactions)} documents, series kept ${SERIES_RETENTION_MS / 1000} s (wall clock; default one hour); RSS every ${fmt(every)} (forced GC: ${typeof (globalThis as { gc?: unknown }).gc === 'function'}), warm-up ${fmt(warmup)}`,
  );
  const { history, trainFromMs, liveFromMs } = world(1);
  const { bundle, state } = await trainDefault(history, trainFromMs, liveFromMs);
  const days = HISTORY_DAYS + Math.ceil(count / 8_000) + 30;
  const simulator = createSimulatorSource({ seed: 0, nDays: days });
  const source: Source = {
    name: 'simulator',
    async *records() {
      for await (const record of simulator.records()) {
        if (record.kind === 'transaction' && record.transaction.timestampMs < liveFromMs) continue;
        yield record;
      }
    },
  };
  const samples: { done: number; rssMiB: number; heapMiB: number }[] = [
    { done: 0, rssMiB: rssMiB(), heapMiB: process.memoryUsage().heapUsed / 2 ** 20 },
  ];
  let nextSample = every;
  const started = performance.now();
  const result = await runInProcess({
    source,
    // Series retention (wall clock) shorter than the run: at the default hour, a 7-minute soak
    // keeps every point it wrote and measures the series filling, not a leak.
    store: new MemoryStore({ retentionMs: SERIES_RETENTION_MS }),
    featureSet: createFeatureSet('transactions', { state, delayDays: 7 }),
    scorer: new Scorer(bundle),
    count,
    batchSize: 500,
    onBatch: (s) => {
      const done = s.persisted + s.duplicates + s.deadLettered;
      if (done < nextSample) return;
      nextSample += every;
      const sample = { done, rssMiB: rssMiB(), heapMiB: process.memoryUsage().heapUsed / 2 ** 20 };
      samples.push(sample);
      console.log(
        `  ${fmt(done).padStart(10)} tx: RSS ${sample.rssMiB.toFixed(0)} MiB, heap ${sample.heapMiB.toFixed(0)} MiB used of ${mib(process.memoryUsage().heapTotal)}, external ${mib(process.memoryUsage().external)} (array buffers ${mib(process.memoryUsage().arrayBuffers)}), ${fmt((done * 1000) / (performance.now() - started))} tx/s so far`,
      );
    },
  });
  const done = result.consumed.persisted + result.consumed.duplicates + result.consumed.deadLettered;
  const end = { done, rssMiB: rssMiB(), heapMiB: process.memoryUsage().heapUsed / 2 ** 20 };
  samples.push(end);
  const warm = samples.find((s) => s.done >= warmup) ?? end;
  const change = (end.rssMiB - warm.rssMiB) / warm.rssMiB;
  console.log(
    `  ${fmt(done)} transactions in ${(result.elapsedMs / 1000).toFixed(0)} s (${fmt((done * 1000) / result.elapsedMs)} tx/s); RSS after warm-up (${fmt(warm.done)}) ${warm.rssMiB.toFixed(0)} MiB, at the end ${end.rssMiB.toFixed(0)} MiB (${(change * 100).toFixed(1)}%)`,
  );
  reportTarget({
    name: 'memory: RSS over a 10M-transaction soak',
    target: 'RSS flat within 10% from after warm-up to the end of ≥ 10M transactions',
    measured: `${(change >= 0 ? '+' : '') + (change * 100).toFixed(1)}% (${warm.rssMiB.toFixed(0)} → ${end.rssMiB.toFixed(0)} MiB) over ${fmt(done)}`,
    met: Math.abs(change) <= 0.1 && done >= 10_000_000,
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
