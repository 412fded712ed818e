/**
 * fraudstream against what a user would write instead, on the reference lab's data path (issue 10):
 * lab envelopes of `synthetic-creditcard` on a Redis Stream, consumed into Redis.
 *
 *   npm run bench -- peer            node dist/bench/peer.bench.js [--count 200000]
 *
 * 1. Trains the bundle with the real CLI (`fraudstream train --source synthetic-creditcard
 *    --seed 1`); the Python peer trains XGBoost 1.7.4 (100 trees, depth 6, eta 0.3) on the very
 *    same feature rows (the 30 Kaggle columns), so both classifiers learn from identical data.
 * 2. Produces N lab envelopes (`synthetic-creditcard --seed 2`) into one stream on a private
 *    redis-server started here, and copies its entries to a second stream: identical input.
 * 3. Runs the peer (`bench/peers/lab_consumer.py`) on the first stream, then `fraudstream consume`
 *    (the real CLI, a child process) on the second at defaults, then again with `--no-forest`
 *    (a new consumer group on the same stream, its own key prefix).
 * 4. Then two processes of each in one consumer group (both cores), fraudstream and the peer.
 * 5. Times each from its first read to its last acknowledgement, by polling `XINFO GROUPS` every
 *    10 ms (the same clock for all), checks that each stored every record, prints rates and ratios.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import type { Transaction } from '../src/events/index.js';
import { CREDITCARD_FEATURE_NAMES, createFeatureSet } from '../src/features/index.js';
import { produce } from '../src/producer/index.js';
import { loadBundle } from '../src/scoring/index.js';
import { createSyntheticCreditcardSource } from '../src/sources/index.js';
import { RedisStreamTransport } from '../src/transports/index.js';
import { findRedisServerBin, startRedisServer } from '../test/helpers/redis-server.js';
import { fmt, reportTarget } from './targets.js';

type Client = ReturnType<typeof createClient>;

const PYTHON = '/usr/bin/python3';
const CLI = new URL('../src/cli/main.js', import.meta.url).pathname;
const PEER = new URL('../../bench/peers/lab_consumer.py', import.meta.url).pathname;
/** Rows the bundle and the peer's XGBoost learn from: as many as the real Kaggle file. */
const TRAIN_ROWS = 284_807;
const TRAIN_SEED = 1;
const LIVE_SEED = 2;
const POLL_MS = 10;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function main(args: string[]): Promise<void> {
  const count = flag(args, 'count', 200_000);
  console.log(
    `peer benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`,
  );
  const missing = pythonMissing();
  if (missing) {
    console.log(`  skipped: ${missing} (apt-get install python3-redis python3-hiredis python3-xgboost)`);
    return;
  }
  if (!findRedisServerBin()) {
    console.log('  skipped: redis-server not found (apt-get install redis-server)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fraudstream-peer-'));
  const server = await startRedisServer();
  const client: Client = createClient({ url: server.url });
  await client.connect();
  try {
    console.log(
      `settings: ${fmt(count)} lab envelopes (synthetic-creditcard, seed ${LIVE_SEED}) on one private redis-server (no persistence); models trained on ${fmt(TRAIN_ROWS)} synthetic-creditcard rows (seed ${TRAIN_SEED}); batches of 500 for every contender; one contender at a time`,
    );
    const bundleDir = join(dir, 'bundle');
    const t0 = performance.now();
    run(process.execPath, [
      CLI,
      'train',
      '--source',
      'synthetic-creditcard',
      '--seed',
      String(TRAIN_SEED),
      '--out',
      bundleDir,
    ]);
    const bundle = await loadBundle(bundleDir);
    const m = bundle.manifest;
    console.log(
      `  fraudstream bundle (fraudstream train): GBDT ${m.gbdt.trees} trees (early-stopped, depth ${String(m.gbdt.options.maxDepth ?? 6)}), RCF ${bundle.rcf.options.numberOfTrees} trees x ${bundle.rcf.options.sampleSize} samples, anomaly weight ${m.combination.anomalyWeight}, ${m.featureNames.length} features; ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const modelPath = join(dir, 'xgboost.json');
    const trained = await trainPeer(dir, modelPath);
    console.log(
      `  peer model: XGBoost ${trained.version}, ${trained.trees} trees of depth 6 (eta 0.3, hist), trained on the same ${fmt(trained.rows)} feature rows`,
    );

    const peerKey = 'bench:peer:lab:{s0}';
    const fsStream = 'bench:peer:fs';
    const fsKey = `${fsStream}:{s0}`;
    await produceLab(server.url, 'bench:peer:lab', count);
    await copyStream(client, peerKey, fsKey);
    const [a, b] = [await client.xLen(peerKey), await client.xLen(fsKey)];
    if (a !== count || b !== count) throw new Error(`streams hold ${a} and ${b} entries, expected ${count}`);
    console.log(`  streams: ${fmt(count)} identical entries in ${peerKey} and ${fsKey}`);

    const peerProcess = (group: string, prefix: string, name: string): ChildProcess =>
      spawn(
        PYTHON,
        [
          PEER,
          'consume',
          '127.0.0.1',
          String(server.port),
          peerKey,
          group,
          prefix,
          modelPath,
          String(count),
          name,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const peer = await timed(client, peerKey, 'peer', count, () => peerProcess('peer', 'bench:py:', 'peer'));
    const peerStored = await storedKeys(client, 'bench:py:tx:*');
    const peerCount = Number(await client.get('bench:py:count'));
    const peerSeries = await client.zCard('bench:py:scores');
    check('peer', peerStored, count, `INCRBY ${peerCount}, ZCARD ${peerSeries}`, peerCount, peerSeries);
    console.log(
      `  peer (Python ${pythonVersion()}, redis-py + hiredis, XREADGROUP COUNT 500, json.loads, XGBoost inplace_predict (nthread 1), pipelined SET + ZADD, INCRBY, XACK): ${fmt(peer.perSecond)} tx/s (${(peer.ms / 1000).toFixed(1)} s, ${fmt(peerStored)} stored)`,
    );

    const consumeProcess = (group: string, prefix: string, extra: string[], name = 'c1'): ChildProcess =>
      spawn(
        process.execPath,
        [
          CLI,
          'consume',
          '--from',
          server.url,
          '--stream',
          fsStream,
          '--group',
          group,
          '--consumer-name',
          name,
          '--prefix',
          prefix,
          '--models',
          bundleDir,
          '--count',
          String(count),
          '--log-level',
          'warn',
          ...extra,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
    const consume = (group: string, prefix: string, extra: string[]) => () =>
      consumeProcess(group, prefix, extra);
    const full = await timed(client, fsKey, 'fs-default', count, consume('fs-default', 'bench:fsd:', []));
    const fullStored = await storedKeys(client, 'bench:fsd:tx:*');
    check('fraudstream', fullStored, count);
    console.log(
      `  fraudstream consume, models at defaults: ${fmt(full.perSecond)} tx/s (${(full.ms / 1000).toFixed(1)} s, ${fmt(fullStored)} stored); ${(full.perSecond / peer.perSecond).toFixed(2)}x the peer`,
    );
    const light = await timed(
      client,
      fsKey,
      'fs-no-forest',
      count,
      consume('fs-no-forest', 'bench:fsn:', ['--no-forest']),
    );
    const lightStored = await storedKeys(client, 'bench:fsn:tx:*');
    check('fraudstream --no-forest', lightStored, count);
    console.log(
      `  fraudstream consume --no-forest (classifier alone, as the peer): ${fmt(light.perSecond)} tx/s (${(light.ms / 1000).toFixed(1)} s, ${fmt(lightStored)} stored); ${(light.perSecond / peer.perSecond).toFixed(2)}x the peer`,
    );
    console.log(
      '  work per record: the peer stores a JSON document and one series point; fraudstream stores an idempotent document (SET NX) with features and reasons, two series points, 1 s and 10 s counters and alerts',
    );
    // Both cores: two processes in one consumer group each, fraudstream and the peer alike (the
    // documented way to use more cores; no --count, they are stopped once the group is done).
    const twoFs = await timed(client, fsKey, 'fs-two', count, () => [
      consumeProcess('fs-two', 'bench:fs2:', [], 'c1'),
      consumeProcess('fs-two', 'bench:fs2:', [], 'c2'),
    ]);
    check('fraudstream x2', await storedKeys(client, 'bench:fs2:tx:*'), count);
    const twoPeer = await timed(client, peerKey, 'peer-two', count, () => [
      peerProcess('peer-two', 'bench:py2:', 'p1'),
      peerProcess('peer-two', 'bench:py2:', 'p2'),
    ]);
    check('peer x2', await storedKeys(client, 'bench:py2:tx:*'), count);
    console.log(
      `  two processes in one consumer group each (both cores, redis-server on them too): fraudstream ${fmt(twoFs.perSecond)} tx/s (${(twoFs.perSecond / full.perSecond).toFixed(2)}x one process), peer ${fmt(twoPeer.perSecond)} tx/s (${(twoPeer.perSecond / peer.perSecond).toFixed(2)}x); fraudstream x2 / peer x2 = ${(twoFs.perSecond / twoPeer.perSecond).toFixed(2)}x, fraudstream x2 / peer x1 = ${(twoFs.perSecond / peer.perSecond).toFixed(2)}x`,
    );
    const ratio = full.perSecond / peer.perSecond;
    reportTarget({
      name: 'lab path through Redis vs the Python peer',
      target: '≥ 2.0x the peer in the same run',
      measured: `${ratio.toFixed(2)}x (${fmt(full.perSecond)} vs ${fmt(peer.perSecond)} tx/s over ${fmt(count)}, one process each; --no-forest ${(light.perSecond / peer.perSecond).toFixed(2)}x; two processes each ${(twoFs.perSecond / twoPeer.perSecond).toFixed(2)}x)`,
      met: ratio >= 2,
    });
  } finally {
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function pythonMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import redis, hiredis, xgboost, numpy'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import redis, hiredis, xgboost and numpy`;
  }
}

function pythonVersion(): string {
  return execFileSync(PYTHON, ['-c', 'import platform; print(platform.python_version())'], {
    encoding: 'utf8',
  }).trim();
}

function run(bin: string, args: string[]): string {
  return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
}

/** The bundle's own feature rows (the `creditcard` set over the same source) and labels, for XGBoost. */
async function trainPeer(
  dir: string,
  modelPath: string,
): Promise<{ version: string; trees: number; rows: number }> {
  const features = createFeatureSet('creditcard');
  const names = features.featureNames;
  if (names.join() !== CREDITCARD_FEATURE_NAMES.join())
    throw new Error('unexpected creditcard feature order');
  const d = names.length;
  const x = new Float32Array(TRAIN_ROWS * d);
  const y = new Float32Array(TRAIN_ROWS);
  const transactions: Transaction[] = [];
  for await (const record of createSyntheticCreditcardSource({
    seed: TRAIN_SEED,
    count: TRAIN_ROWS,
  }).records()) {
    if (record.kind === 'transaction') transactions.push(record.transaction);
  }
  const n = transactions.length;
  const rows = new Float64Array(n * d);
  await features.extract(transactions, rows);
  x.set(rows.subarray(0, n * d));
  for (let i = 0; i < n; i++) y[i] = transactions[i]!.label ? 1 : 0;
  const xPath = join(dir, 'x.f32');
  const yPath = join(dir, 'y.f32');
  writeFileSync(xPath, new Uint8Array(x.buffer, 0, n * d * 4));
  writeFileSync(yPath, new Uint8Array(y.buffer, 0, n * 4));
  const out = run(PYTHON, [PEER, 'train', xPath, yPath, String(d), modelPath]);
  return JSON.parse(out.trim().split('\n').pop()!) as { version: string; trees: number; rows: number };
}

async function produceLab(url: string, stream: string, count: number): Promise<void> {
  const transport = await RedisStreamTransport.connect({ url, stream });
  try {
    await produce(createSyntheticCreditcardSource({ seed: LIVE_SEED, count }), transport.writer(), {
      format: 'lab',
      count,
      batchSize: 1000,
    });
  } finally {
    await transport.close();
  }
}

/** Copies every entry of `from` to `to`, fields unchanged (new ids), in pipelined chunks. */
async function copyStream(client: Client, from: string, to: string): Promise<void> {
  let start = '-';
  for (;;) {
    const entries = await client.xRange(from, start, '+', { COUNT: 5000 });
    if (entries.length === 0) return;
    await Promise.all(entries.map((e) => client.xAdd(to, '*', e.message as Record<string, string>)));
    start = `(${entries[entries.length - 1]!.id}`;
  }
}

/** `SCAN`-counted keys matching `pattern`. */
async function storedKeys(client: Client, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 10_000 })) n += keys.length;
  return n;
}

function check(who: string, stored: number, count: number, detail = '', ...others: number[]): void {
  if (stored !== count || others.some((o) => o !== count)) {
    throw new Error(`${who} stored ${stored} of ${count} records${detail ? ` (${detail})` : ''}`);
  }
}

/** `[entries-read, pending]` of a consumer group, or undefined before it exists. */
async function groupProgress(
  client: Client,
  key: string,
  group: string,
): Promise<[number, number] | undefined> {
  const reply = (await client.sendCommand(['XINFO', 'GROUPS', key])) as unknown[];
  for (const g of reply) {
    const fields = g as unknown[];
    const get = (name: string): unknown => fields[fields.indexOf(name) + 1];
    if (get('name') === group) return [Number(get('entries-read') ?? 0), Number(get('pending'))];
  }
  return undefined;
}

/**
 * Starts a contender (one process or several in one consumer group) and times it from the first
 * record its group read to the last one it acknowledged, by polling the group every
 * {@link POLL_MS} ms. Processes still running once the group is done (several share the count,
 * so none reaches it alone) get SIGTERM; each must then end cleanly (exit 0, or killed by that
 * SIGTERM).
 */
async function timed(
  client: Client,
  key: string,
  group: string,
  count: number,
  start: () => ChildProcess | ChildProcess[],
): Promise<{ perSecond: number; ms: number }> {
  const started = start();
  const children = Array.isArray(started) ? started : [started];
  let stderr = '';
  let early: string | undefined;
  let running = children.length;
  const exits = children.map((child) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.stdout?.resume();
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => {
        running--;
        if (code !== 0 && signal === null) early ??= `exited with ${code}`;
        resolve({ code, signal });
      }),
    );
  });
  let firstReadMs: number | undefined;
  for (;;) {
    const progress = await groupProgress(client, key, group);
    const now = performance.now();
    if (progress) {
      const [read, pending] = progress;
      if (firstReadMs === undefined && read > 0) firstReadMs = now;
      if (read >= count && pending === 0) {
        for (const child of children)
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        for (const { code, signal } of await Promise.all(exits)) {
          if (code !== 0 && signal !== 'SIGTERM')
            throw new Error(`${group} exited with ${code ?? signal}: ${stderr}`);
        }
        const ms = now - (firstReadMs ?? now);
        return { perSecond: (count * 1000) / ms, ms };
      }
    }
    if (early !== undefined || running === 0)
      throw new Error(`${group} ${early ?? 'exited early'}: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
