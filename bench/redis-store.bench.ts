import { execFile } from 'node:child_process';
import { createClient } from 'redis';
import type { WindowEvent } from '../src/features/index.js';
import { windowAggregateCount } from '../src/features/index.js';
import { RedisWindowState } from '../src/features/redis/index.js';
import { Random } from '../src/random/index.js';
import type { Decision, ScoredTransaction } from '../src/store/index.js';
import { RedisStore } from '../src/store/redis/index.js';
import { randomKeyPrefix, startRedisServer } from '../test/helpers/redis-server.js';

/**
 * Throughput of the Redis store and the Redis window state against a private redis-server:
 * persists N scored transactions in batches (one Lua call per batch) and updates + reads the
 * window state for them, reporting records/s and Redis commands/s (`INFO commandstats` deltas,
 * commands run inside scripts included). Baseline of the same run: the same store writes done
 * record by record, one awaited command at a time, as the reference lab's Lambda does.
 * Physical reference: `redis-benchmark -P 32 -t set` on the same machine.
 * Flags: `--records N` (200000), `--batch N` (500), `--baseline-records N` (20000),
 * `--cards N` (20000), `--terminals N` (2000), `--seed N` (42), `--redis-benchmark 0|1` (1).
 */
export async function main(args: string[]): Promise<void> {
  const settings = {
    records: 200_000,
    batch: 500,
    baselineRecords: 20_000,
    cards: 20_000,
    terminals: 2_000,
    seed: 42,
    redisBenchmark: 1,
  };
  const flags: Record<string, keyof typeof settings> = {
    '--records': 'records',
    '--batch': 'batch',
    '--baseline-records': 'baselineRecords',
    '--cards': 'cards',
    '--terminals': 'terminals',
    '--seed': 'seed',
    '--redis-benchmark': 'redisBenchmark',
  };
  for (let i = 0; i < args.length; i += 2) {
    const name = flags[String(args[i])];
    const value = Number(args[i + 1]);
    if (name === undefined || !Number.isFinite(value))
      throw new Error(`bad flag ${String(args[i])} ${String(args[i + 1])}`);
    settings[name] = value;
  }
  console.log('redis-store bench settings', JSON.stringify(settings));
  const records = makeRecords(settings);

  const server = await startRedisServer();
  const admin = createClient({ url: server.url });
  await admin.connect();
  const commandCalls = async (): Promise<number> => {
    const info = await admin.info('commandstats');
    let total = 0;
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (m[1] !== 'info') total += Number(m[2]);
    }
    return total;
  };
  try {
    const store = await RedisStore.connect({ url: server.url, prefix: randomKeyPrefix('bench') });
    let calls = await commandCalls();
    let started = process.hrtime.bigint();
    let written = 0;
    for (let i = 0; i < records.length; i += settings.batch) {
      written += (await store.persistBatch(records.slice(i, i + settings.batch))).written;
    }
    const storeSeconds = seconds(started);
    const storeCommands = (await commandCalls()) - calls;
    await store.close();
    const storeRate = records.length / storeSeconds;
    console.log(
      'store batched',
      JSON.stringify({
        layout: store.layout,
        written,
        seconds: round(storeSeconds),
        recordsPerSecond: Math.round(storeRate),
        redisCommandsPerSecond: Math.round(storeCommands / storeSeconds),
        commandsPerRecord: round(storeCommands / records.length),
      }),
    );

    // The same writes without the search indexes of searchTransactions: what they cost.
    const plain = await RedisStore.connect({
      url: server.url,
      prefix: randomKeyPrefix('bench'),
      searchIndexes: false,
    });
    calls = await commandCalls();
    started = process.hrtime.bigint();
    for (let i = 0; i < records.length; i += settings.batch) {
      await plain.persistBatch(records.slice(i, i + settings.batch));
    }
    const plainSeconds = seconds(started);
    const plainCommands = (await commandCalls()) - calls;
    await plain.close();
    console.log(
      'store batched, no search indexes',
      JSON.stringify({
        recordsPerSecond: Math.round(records.length / plainSeconds),
        commandsPerRecord: round(plainCommands / records.length),
        withIndexesRatio: round(storeRate / (records.length / plainSeconds)),
      }),
    );

    const state = await RedisWindowState.connect({ url: server.url, prefix: randomKeyPrefix('bench') });
    const events: WindowEvent[] = records.map((r) => ({
      key: r.key,
      cardId: r.transaction.cardId,
      terminalId: r.transaction.terminalId,
      timestampMs: r.transaction.timestampMs,
      amount: r.transaction.amount,
    }));
    const out = new Float64Array(settings.batch * windowAggregateCount(state.config));
    calls = await commandCalls();
    started = process.hrtime.bigint();
    for (let i = 0; i < events.length; i += settings.batch) {
      await state.updateAndRead(events.slice(i, i + settings.batch), out);
    }
    const stateSeconds = seconds(started);
    const stateCommands = (await commandCalls()) - calls;
    await state.close();
    console.log(
      'window state batched',
      JSON.stringify({
        seconds: round(stateSeconds),
        eventsPerSecond: Math.round(events.length / stateSeconds),
        redisCommandsPerSecond: Math.round(stateCommands / stateSeconds),
        commandsPerEvent: round(stateCommands / events.length),
      }),
    );

    const baselineN = Math.min(settings.baselineRecords, records.length);
    const baselinePrefix = randomKeyPrefix('baseline');
    calls = await commandCalls();
    started = process.hrtime.bigint();
    for (let i = 0; i < baselineN; i++) await persistOneByOne(admin, baselinePrefix, records[i]!);
    const baselineSeconds = seconds(started);
    const baselineCommands = (await commandCalls()) - calls;
    const baselineRate = baselineN / baselineSeconds;
    console.log(
      'store baseline (one awaited command at a time)',
      JSON.stringify({
        records: baselineN,
        seconds: round(baselineSeconds),
        recordsPerSecond: Math.round(baselineRate),
        redisCommandsPerSecond: Math.round(baselineCommands / baselineSeconds),
      }),
    );
    console.log('store speed-up over baseline', `${round(storeRate / baselineRate)}x`);

    if (settings.redisBenchmark) {
      const setsPerSecond = await redisBenchmark(server.port);
      const storeCps = storeCommands / storeSeconds;
      const stateCps = stateCommands / stateSeconds;
      console.log(
        'physical reference',
        JSON.stringify({
          redisBenchmarkSetPerSecond: Math.round(setsPerSecond),
          storeCommandsFraction: round(storeCps / setsPerSecond),
          windowStateCommandsFraction: round(stateCps / setsPerSecond),
        }),
      );
    }
  } finally {
    await admin.close();
    await server.stop();
  }
}

/**
 * What a record-by-record writer does: each command awaited before the next. Same data as the
 * store's core layout (document, series point, 1 s and 10 s counters, count, alert).
 */
async function persistOneByOne(
  client: ReturnType<typeof createClient>,
  prefix: string,
  r: ScoredTransaction,
): Promise<void> {
  const created = await client.sendCommand(['SET', `${prefix}tx:${r.key}`, JSON.stringify(r), 'NX']);
  if (created === null) return;
  const flagged = r.decision !== 'approve';
  const score = String(r.fraudScore);
  await client.sendCommand([
    'ZADD',
    `${prefix}${flagged ? 'fraudulent_ts' : 'non-fraudulent_ts'}`,
    String(r.processedAtMs),
    `${r.key}:${score}`,
  ]);
  for (const interval of [1_000, 10_000]) {
    const bucket = `${prefix}cnt:${interval}:${Math.floor(r.processedAtMs / interval) * interval}`;
    await client.sendCommand(['HINCRBY', bucket, 'transactions', '1']);
    await client.sendCommand(['HINCRBYFLOAT', bucket, 'scoreSum', score]);
    if (flagged) await client.sendCommand(['HINCRBY', bucket, 'flagged', '1']);
  }
  await client.sendCommand(['INCR', `${prefix}count`]);
  if (flagged) {
    await client.sendCommand(['XADD', `${prefix}alerts`, 'MAXLEN', '~', '10000', '*', 'alert', score]);
  }
}

function makeRecords(settings: {
  records: number;
  cards: number;
  terminals: number;
  seed: number;
}): ScoredTransaction[] {
  const random = new Random(settings.seed);
  const t0 = Date.UTC(2018, 3, 1);
  const processed0 = Date.now();
  const out: ScoredTransaction[] = [];
  let eventTime = t0;
  for (let i = 0; i < settings.records; i++) {
    // About 2,000 transactions per simulated hour: every card is seen again within its windows.
    eventTime += random.int(3_600);
    const fraudScore = Math.round(random.next() ** 4 * 1e4) / 1e4;
    const decision: Decision = fraudScore >= 0.9 ? 'decline' : fraudScore >= 0.7 ? 'review' : 'approve';
    const amount = Math.round(random.uniform(1, 300) * 100) / 100;
    out.push({
      key: `tx-${i}@${i}`,
      transaction: {
        id: `tx-${i}`,
        timestampMs: eventTime,
        cardId: `card-${random.int(settings.cards)}`,
        terminalId: `term-${random.int(settings.terminals)}`,
        amount,
        channel: 'web',
        format: 'native',
      },
      features: { TX_AMOUNT: amount },
      classifierProbability: fraudScore,
      anomalyScore: 1,
      anomalyNormalized: 0.5,
      fraudScore,
      decision,
      reasons: [{ name: 'TX_AMOUNT', contribution: 0.1, source: 'classifier' }],
      modelVersion: 'bench',
      enqueuedAtMs: processed0 + i,
      processedAtMs: processed0 + i,
    });
  }
  return out;
}

/** SET requests per second of `redis-benchmark -P 32 -t set -n 2000000 -q` against the server. */
function redisBenchmark(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      'redis-benchmark',
      ['-P', '32', '-t', 'set', '-n', '2000000', '-q', '-p', String(port)],
      { timeout: 120_000 },
      (error, stdout) => {
        if (error) return reject(error);
        const m = /SET: ([\d.]+) requests per second/.exec(stdout.replace(/\r/g, '\n'));
        return m ? resolve(Number(m[1])) : reject(new Error(`unexpected redis-benchmark output: ${stdout}`));
      },
    );
  });
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
