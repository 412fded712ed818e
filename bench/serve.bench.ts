/**
 * Latency of the scoring API (`fraudstream serve`): `POST /api/score` with one transaction per
 * request, offered open loop at a fixed rate (default 1,000 requests/s) by a load generator on
 * its own thread, so the server's event loop is not shared with it. Latency runs from each
 * request's scheduled send time to the end of its response, so a stalled server is charged
 * for the requests that queue behind it (no coordinated omission). Models at their defaults,
 * trained on the Handbook simulator's default world; memory store and window state.
 *
 *   npm run bench -- serve [--rate 1000] [--seconds 10]
 *
 * Baseline of the same run: `GET /healthz` at the same rate, on the same server (the cost of
 * HTTP and fastify alone). Target: p99 of the score request under 5 ms at 1,000 requests/s.
 */
import { Worker } from 'node:worker_threads';
import { toNativeJson } from '../src/events/index.js';
import { createFeatureSet } from '../src/features/index.js';
import { startServer } from '../src/http/index.js';
import { RequestScorer } from '../src/pipeline/index.js';
import { Scorer } from '../src/scoring/index.js';
import { MemoryStore } from '../src/store/index.js';
import { trainDefault, world } from './pipeline.bench.js';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** The load generator: plain node:http with keep-alive, requests scheduled at fixed times. */
const GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, method, bodies, rate, seconds } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url);
const total = Math.round(rate * seconds);
const latencies = new Float64Array(total);
let done = 0, errors = 0, statusErrors = 0;
const t0 = performance.now() + 50;
function send(i) {
  const scheduled = t0 + (i * 1000) / rate;
  const body = bodies.length > 0 ? bodies[i % bodies.length] : undefined;
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method, agent,
    headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
    if (res.statusCode !== 200) statusErrors++;
    res.resume();
    res.on('end', () => { latencies[i] = performance.now() - scheduled; finish(); });
  });
  req.on('error', () => { errors++; latencies[i] = Number.NaN; finish(); });
  req.end(body);
}
function finish() {
  if (++done === total) {
    agent.destroy();
    parentPort.postMessage({ latencies, errors, statusErrors, elapsedMs: performance.now() - t0 });
  }
}
let next = 0;
function tick() {
  const now = performance.now();
  while (next < total && t0 + (next * 1000) / rate <= now) send(next++);
  if (next < total) setTimeout(tick, Math.max(0, t0 + (next * 1000) / rate - performance.now()));
}
setTimeout(tick, 50);
`;

interface LoadResult {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  achieved: number;
  errors: number;
}

function offer(
  url: string,
  method: string,
  bodies: string[],
  rate: number,
  seconds: number,
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(GENERATOR, { eval: true, workerData: { url, method, bodies, rate, seconds } });
    worker.once('error', reject);
    worker.once(
      'message',
      (m: { latencies: Float64Array; errors: number; statusErrors: number; elapsedMs: number }) => {
        const sorted = Float64Array.from(m.latencies.filter((v) => !Number.isNaN(v))).sort();
        const q = (p: number) =>
          sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
        void worker.terminate();
        resolve({
          p50: q(0.5),
          p90: q(0.9),
          p99: q(0.99),
          max: sorted[sorted.length - 1] ?? Number.NaN,
          achieved: (m.latencies.length / m.elapsedMs) * 1000,
          errors: m.errors + m.statusErrors,
        });
      },
    );
  });
}

export async function main(args: string[]): Promise<void> {
  const rate = flag(args, 'rate', 1_000);
  const seconds = flag(args, 'seconds', 10);
  const requests = Math.round(rate * seconds);
  console.log(
    `serve bench settings ${JSON.stringify({ rate, seconds, requests, transactionsPerRequest: 1, store: 'memory', models: 'defaults' })}`,
  );
  const { history, live, trainFromMs, liveFromMs } = world(requests + 1_000);
  const { bundle, state } = await trainDefault(history, trainFromMs, liveFromMs);
  const store = new MemoryStore();
  const scorer = new RequestScorer({
    featureSet: createFeatureSet('transactions', { state }),
    scorer: new Scorer(bundle),
    store,
  });
  const server = await startServer({ store, scorer, port: 0, dashboard: false });
  const score = `${server.url}api/score`;
  const bodies = live.slice(0, requests + 1_000).map((t) => toNativeJson(t));
  try {
    // Warm-up: JIT, the forest's WebAssembly, connection pool.
    await offer(score, 'POST', bodies.slice(requests), Math.min(rate, 500), 2);
    const base = await offer(`${server.url}healthz`, 'GET', [], rate, seconds);
    const result = await offer(score, 'POST', bodies.slice(0, requests), rate, seconds);
    const row = (name: string, r: LoadResult) =>
      `${name.padEnd(34)} offered ${rate}/s, achieved ${r.achieved.toFixed(0)}/s, p50 ${r.p50.toFixed(2)} ms, p90 ${r.p90.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, errors ${r.errors}`;
    console.log(row('baseline: GET /healthz', base));
    console.log(row('POST /api/score (1 transaction)', result));
    console.log(
      `p99 target < 5 ms: ${result.p99 < 5 ? 'met' : 'NOT met'}; score p99 / healthz p99 = ${(result.p99 / base.p99).toFixed(2)}x; stored ${await store.countTransactions()}`,
    );
  } finally {
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
