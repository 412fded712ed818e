import { availableParallelism, loadavg } from 'node:os';
import type { Feedback, Transaction } from '../src/events/index.js';
import { buildTrainingSet, createFeatureSet, DAY_MS, feedbackFor } from '../src/features/index.js';
import { Random } from '../src/random/index.js';

/** Transactions per second the brief asks of `extract` on the memory state. */
const TARGET_TX_PER_SECOND = 300_000;

interface Settings {
  days: number;
  cards: number;
  terminals: number;
  txPerDay: number;
  batch: number;
  fraudRate: number;
  delayDays: number;
  seed: number;
}

/**
 * Throughput of the `transactions` feature set on the memory window state, over a
 * Handbook-sized synthetic history (5,000 cards, 10,000 terminals, ~10,000 transactions a day):
 * live-style `extract` in batches with feedback arriving at the delay, the same one transaction
 * at a time (the record-by-record baseline of the same run), and `buildTrainingSet`.
 * Flags: `--days N` (60), `--cards N` (5000), `--terminals N` (10000), `--tx-per-day N` (10000),
 * `--batch N` (1024), `--fraud-rate X` (0.01), `--delay-days N` (7), `--seed N` (42).
 */
export async function main(args: string[]): Promise<void> {
  const s: Settings = {
    days: 60,
    cards: 5000,
    terminals: 10_000,
    txPerDay: 10_000,
    batch: 1024,
    fraudRate: 0.01,
    delayDays: 7,
    seed: 42,
  };
  for (let i = 0; i < args.length; i += 2) {
    const value = Number(args[i + 1]);
    const flag = args[i];
    if (flag === '--days') s.days = value;
    else if (flag === '--cards') s.cards = value;
    else if (flag === '--terminals') s.terminals = value;
    else if (flag === '--tx-per-day') s.txPerDay = value;
    else if (flag === '--batch') s.batch = value;
    else if (flag === '--fraud-rate') s.fraudRate = value;
    else if (flag === '--delay-days') s.delayDays = value;
    else if (flag === '--seed') s.seed = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  console.log(`features bench settings: ${JSON.stringify(s)}`);
  const txs = makeHistory(s);
  console.log(`history: ${txs.length.toLocaleString('en-US')} transactions over ${s.days} days`);

  // A first pass warms the JIT so that the measured passes compare like with like.
  await liveExtract(txs.slice(0, 100_000), s, s.batch);
  const batched = await liveExtract(txs, s, s.batch);
  const single = await liveExtract(txs.slice(0, Math.min(txs.length, 200_000)), s, 1);
  console.log(
    `extract, batches of ${s.batch}: ${fmt(batched.rate)} tx/s wall (${ms(batched.ms)}), ${fmt(batched.cpuRate)} tx per CPU-second; target ${fmt(TARGET_TX_PER_SECOND)} tx/s: ${
      batched.rate >= TARGET_TX_PER_SECOND ? 'met' : 'NOT met'
    } (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
  );
  console.log(
    `extract, one transaction per call (baseline): ${fmt(single.rate)} tx/s wall, ${fmt(single.cpuRate)} tx per CPU-second; batching speed-up ×${(batched.rate / single.rate).toFixed(1)}`,
  );

  const start = performance.now();
  const set = await buildTrainingSet({
    transactions: txs,
    featureSet: createFeatureSet('transactions', { delayDays: s.delayDays }),
    fromMs: txs[0]!.timestampMs + (s.days / 2) * DAY_MS,
    toMs: txs[txs.length - 1]!.timestampMs,
    delayDays: s.delayDays,
    batchSize: s.batch,
  });
  const replayMs = performance.now() - start;
  console.log(
    `buildTrainingSet: ${fmt((txs.length / replayMs) * 1000)} tx/s replayed, ${set.nRows.toLocaleString('en-US')} rows × ${set.nCols} (${ms(replayMs)})`,
  );
}

async function liveExtract(
  txs: readonly Transaction[],
  s: Settings,
  batchSize: number,
): Promise<{ rate: number; ms: number; cpuRate: number }> {
  const featureSet = createFeatureSet('transactions', { delayDays: s.delayDays });
  const out = new Float64Array(batchSize * featureSet.featureNames.length);
  const pending: Feedback[] = [];
  let head = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < txs.length; i += batchSize) {
    const batch = txs.slice(i, i + batchSize);
    const lastMs = batch[batch.length - 1]!.timestampMs;
    let end = head;
    while (end < pending.length && pending[end]!.atMs <= lastMs) end++;
    if (end > head) await featureSet.feedback(pending.slice(head, end));
    head = end;
    if (head > 65_536) {
      pending.splice(0, head);
      head = 0;
    }
    await featureSet.extract(batch, out);
    for (const tx of batch) pending.push(feedbackFor(tx, s.delayDays));
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return { rate: (txs.length / elapsed) * 1000, ms: elapsed, cpuRate: (txs.length / cpuMs) * 1000 };
}

/** Uniform arrivals, each card with its own activity level, terminals drawn uniformly. */
function makeHistory(s: Settings): Transaction[] {
  const random = new Random(s.seed);
  const start = Date.UTC(2018, 3, 1);
  const n = Math.round(s.days * s.txPerDay);
  const activity = Float64Array.from({ length: s.cards }, () => random.next());
  let total = 0;
  const cumulative = activity.map((a) => (total += a));
  const txs: Transaction[] = new Array(n);
  let t = start;
  for (let i = 0; i < n; i++) {
    t += random.exponential(DAY_MS / s.txPerDay);
    const u = random.next() * total;
    let lo = 0;
    let hi = s.cards - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    txs[i] = {
      id: `tx${i}`,
      timestampMs: Math.floor(t),
      cardId: `C${lo}`,
      terminalId: `T${random.int(s.terminals)}`,
      amount: Math.round(random.uniform(1, 200) * 100) / 100,
      channel: 'unknown',
      format: 'native',
      label: random.next() < s.fraudRate ? 1 : 0,
    };
  }
  return txs;
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function ms(x: number): string {
  return `${(x / 1000).toFixed(2)} s`;
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
