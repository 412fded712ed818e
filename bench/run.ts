/**
 * Runs every benchmark, one after the other, in this process: `npm run bench` (after `npm ci`,
 * which builds). `npm run bench -- pipeline gbdt` runs only the named ones. Each benchmark prints
 * its own settings, results and the baseline it measured in the same run.
 */
import { cpus, totalmem } from 'node:os';
import { printTargetSummary } from './targets.js';

const BENCHMARKS = {
  simulator: () => import('./simulator.bench.js'),
  features: () => import('./features.bench.js'),
  gbdt: () => import('./gbdt.bench.js'),
  rcf: () => import('./rcf.bench.js'),
  handbook: () => import('./handbook.bench.js'),
  quality: () => import('./quality.bench.js'),
  'quality-select': () => import('./quality-select.bench.js'),
  pipeline: () => import('./pipeline.bench.js'),
  peer: () => import('./peer.bench.js'),
  soak: () => import('./soak.bench.js'),
  'redis-transport': () => import('./redis-transport.bench.js'),
  'redis-store': () => import('./redis-store.bench.js'),
  'kinesis-transport': () => import('./kinesis-transport.bench.js'),
  serve: () => import('./serve.bench.js'),
} as const;

type Name = keyof typeof BENCHMARKS;

// Names come first; everything from the first flag on goes to the benchmark(s) (`-- quality --seeds 0..2`).
const argv = process.argv.slice(2);
const firstFlag = argv.findIndex((a) => a.startsWith('-'));
const requested = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const benchArgs = firstFlag < 0 ? [] : argv.slice(firstFlag);
const unknown = requested.filter((n) => !(n in BENCHMARKS));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(BENCHMARKS).join(', ')}`,
  );
  process.exit(2);
}
// `soak` (10M transactions, several minutes) runs only when named.
const names = (
  requested.length > 0 ? requested : Object.keys(BENCHMARKS).filter((n) => n !== 'soak')
) as Name[];
console.log(
  `fraudstream benchmarks — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
);
for (const name of names) {
  console.log(`\n===== ${name} =====`);
  const started = performance.now();
  const module = await BENCHMARKS[name]();
  await module.main(benchArgs);
  console.log(`(${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
printTargetSummary();
