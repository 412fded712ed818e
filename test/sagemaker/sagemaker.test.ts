import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ParseError, RemoteModelError } from '../../src/errors/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import {
  buildModelServer,
  decodeCsvRows,
  decodeJsonRows,
  decodeScores,
  encodeCsvRows,
  encodeCsvScores,
  type ModelServerHandle,
  SageMakerEndpointModel,
  startModelServer,
} from '../../src/sagemaker/index.js';
import { loadBundle, type ModelBundle, Scorer, saveBundle, standardize } from '../../src/scoring/index.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

/** Dummy static credentials: serve-model checks no signature, the SDK only needs some to sign. */
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

let dir: string;
let d: number;
/** Feature rows of live transactions (after the training period), some with missing values. */
let rows: Float64Array;
let n: number;
const fresh = (): Promise<ModelBundle> => loadBundle(dir);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fraudstream-sagemaker-'));
  await saveBundle(dir, await trainSmallBundle(50, 31, 49));
  const bundle = await fresh();
  d = bundle.manifest.featureNames.length;
  const featureSet = createFeatureSet('transactions', { delayDays: bundle.manifest.delayDays });
  const world = smallWorld(52);
  const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
  // Replaying the whole world gives the live rows their real window features.
  const all = new Float64Array(world.length * d);
  await featureSet.extract(world, all);
  const first = world.findIndex((t) => t.timestampMs >= liveFrom);
  n = 300;
  rows = all.slice(first * d, (first + n) * d);
  rows[3 * d + 2] = Number.NaN; // a missing value travels as an empty CSV field
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** In-process references: classifier probabilities and a score-only forest's raw scores. */
async function reference(x: Float64Array, count: number): Promise<{ p: Float64Array; a: Float64Array }> {
  const { manifest, gbdt, rcf } = await fresh();
  const p = gbdt.predictProba({ data: Float32Array.from(x.subarray(0, count * d)), nRows: count, nCols: d });
  const z = standardize(x, count, manifest.rcf.scaling, new Float64Array(count * d));
  const a = new Float64Array(count);
  rcf.scoreBatch(z, count, a);
  return { p, a };
}

describe('SageMaker bodies', () => {
  it('round-trips rows and scores exactly, missing values included', () => {
    const back = decodeCsvRows(encodeCsvRows(rows, n, d), d);
    expect(back.n).toBe(n);
    expect(Array.from(back.data)).toEqual(Array.from(rows));
    const scores = Float64Array.from([0.1 + 0.2, 1e-17, 0.999999999999]);
    expect(Array.from(decodeScores(encodeCsvScores(scores), 'text/csv'))).toEqual(Array.from(scores));
  });

  it('reads every documented response and request form, and names what is wrong', () => {
    expect(Array.from(decodeScores('0.5,0.25', 'text/csv; charset=utf-8'))).toEqual([0.5, 0.25]);
    expect(Array.from(decodeScores('{"scores":[{"score":1.5},{"score":2}]}', 'application/json'))).toEqual([
      1.5, 2,
    ]);
    expect(Array.from(decodeScores('{"predictions":[{"score":0.1}]}', undefined))).toEqual([0.1]);
    expect(() => decodeScores('{"nope":1}', 'application/json')).toThrow(ParseError);
    expect(Array.from(decodeJsonRows({ instances: [[1, null]] }, 2).data)).toEqual([1, Number.NaN]);
    expect(Array.from(decodeJsonRows([{ features: [1, 2] }], 2).data)).toEqual([1, 2]);
    expect(() => decodeCsvRows('1,2\n3', 2)).toThrow(/line 2: expected 2 values, got 1/);
    expect(() => decodeCsvRows('1,x', 2)).toThrow(/line 1, column 2/);
    expect(() => decodeJsonRows({ instances: [[1, 'a']] }, 2)).toThrow(/instances\[0\]\[1\]/);
  });
});

describe('serve-model routes (inject)', () => {
  it('answers /ping, and the classifier with one probability per CSV line or XGBoost JSON', async () => {
    const app = buildModelServer({ bundle: await fresh(), model: 'classifier' });
    const ping = await app.inject({ method: 'GET', url: '/ping' });
    expect(ping.statusCode).toBe(200);
    const { p } = await reference(rows, 5);
    const csv = await app.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'text/csv' },
      payload: encodeCsvRows(rows, 5, d),
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.trim().split('\n').map(Number)).toEqual(Array.from(p));
    const json = await app.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      payload: {
        instances: Array.from({ length: 5 }, (_, i) =>
          Array.from(rows.subarray(i * d, (i + 1) * d), (v) => (Number.isNaN(v) ? null : v)),
        ),
      },
    });
    expect(json.json()).toEqual({ predictions: Array.from(p, (score) => ({ score })) });
    await app.close();
  });

  it('answers the forest in the RCF format and refuses bad bodies with 400 and 415', async () => {
    const app = buildModelServer({ bundle: await fresh(), model: 'anomaly' });
    const { a } = await reference(rows, 4);
    const res = await app.inject({
      method: 'POST',
      url: '/endpoints/any-name/invocations',
      headers: { 'content-type': 'text/csv' },
      payload: encodeCsvRows(rows, 4, d),
    });
    expect(res.json()).toEqual({ scores: Array.from(a, (score) => ({ score })) });
    const short = await app.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'text/csv' },
      payload: '1,2,3',
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().message).toMatch(`expected ${d} values`);
    const xml = await app.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    expect(xml.statusCode).toBe(415);
    const broken = await app.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json' },
      payload: '{"instances": [',
    });
    expect(broken.statusCode).toBe(400);
    await app.close();
    const small = buildModelServer({ bundle: await fresh(), model: 'anomaly', bodyLimitBytes: 64 });
    const big = await small.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'text/csv' },
      payload: encodeCsvRows(rows, 4, d),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toBe('Payload Too Large');
    await small.close();
    expect(() => buildModelServer({ bundle: a as never, model: 'classifier', learn: true })).toThrow(
      ConfigError,
    );
  });
});

describe('the AWS SDK (InvokeEndpoint) against serve-model on localhost', () => {
  let classifier: ModelServerHandle;
  let anomaly: ModelServerHandle;
  let learning: ModelServerHandle;

  beforeAll(async () => {
    classifier = await startModelServer({ bundle: await fresh(), model: 'classifier', port: 0 });
    anomaly = await startModelServer({ bundle: await fresh(), model: 'anomaly', port: 0 });
    learning = await startModelServer({ bundle: await fresh(), model: 'anomaly', port: 0, learn: true });
  });
  afterAll(async () => {
    await Promise.all([classifier?.close(), anomaly?.close(), learning?.close()]);
  });

  const endpoint = (server: ModelServerHandle, model: 'classifier' | 'anomaly', extra = {}) =>
    new SageMakerEndpointModel({
      endpoint: `fraud-${model}-endpoint`,
      model,
      region: 'us-east-1',
      endpointUrl: server.url,
      credentials: CREDENTIALS,
      ...extra,
    });

  it('gets the in-process scores: classifier probabilities and a score-only forest, bit for bit', async () => {
    const { p, a } = await reference(rows, n);
    const c = endpoint(classifier, 'classifier');
    const f = endpoint(anomaly, 'anomaly');
    expect(Array.from(await c.score(rows, n, d))).toEqual(Array.from(p));
    expect(Array.from(await f.score(rows, n, d))).toEqual(Array.from(a));
    // Split into calls of 64 rows, several in flight: the same answer.
    const split = endpoint(classifier, 'classifier', { maxRowsPerCall: 64, concurrency: 3 });
    expect(Array.from(await split.score(rows, n, d))).toEqual(Array.from(p));
    // A URL names serve-model directly (placeholder credentials, endpoint name from the path or a default).
    const direct = new SageMakerEndpointModel({ endpoint: anomaly.url, model: 'anomaly' });
    expect(direct.name).toBe('fraudstream-anomaly');
    expect(Array.from(await direct.score(rows, n, d))).toEqual(Array.from(a));
    // The in-process scorer without learning (a dry run) matches the score-only endpoint, twice.
    const dry = new Scorer(await fresh());
    for (let round = 0; round < 2; round++) {
      expect(
        Array.from(dry.scoreBatch(rows, n, undefined, { learn: false }).anomalyScore.subarray(0, n)),
      ).toEqual(Array.from(await f.score(rows, n, d)));
    }
    for (const m of [c, f, split, direct]) m.close();
  });

  it('a scorer on both endpoints decides as the in-process scorer does', async () => {
    const c = endpoint(classifier, 'classifier');
    const f = endpoint(learning, 'anomaly');
    const remote = new Scorer(await fresh(), { remote: { classifier: c, anomaly: f } });
    // The learning endpoint learns every row it scores; the in-process forest does too with
    // forestUpdateEvery 1 (its default learns one row in four).
    const local = new Scorer(await fresh(), { forestUpdateEvery: 1 });
    expect(() => remote.scoreBatch(rows, n)).toThrow(ConfigError);
    // Two batches: the learning server's forest follows the stream as the in-process one does.
    for (const [from, to] of [
      [0, 150],
      [150, 300],
    ] as const) {
      const x = rows.subarray(from * d, to * d);
      const r = await remote.scoreBatchAsync(x, to - from);
      const kept = {
        p: r.classifierProbability.slice(0, to - from),
        a: r.anomalyScore.slice(0, to - from),
        s: r.fraudScore.slice(0, to - from),
        decisions: r.decisions.slice(0, to - from),
      };
      const l = local.scoreBatch(x, to - from);
      expect(Array.from(kept.p)).toEqual(Array.from(l.classifierProbability.subarray(0, to - from)));
      expect(Array.from(kept.a)).toEqual(Array.from(l.anomalyScore.subarray(0, to - from)));
      expect(Array.from(kept.s)).toEqual(Array.from(l.fraudScore.subarray(0, to - from)));
      expect(kept.decisions).toEqual(l.decisions.slice(0, to - from));
    }
    c.close();
    f.close();
  });
});

describe('endpoint failures', () => {
  /** A server that accepts requests and never answers, counting them. */
  let silent: Server;
  let silentUrl: string;
  /** A server that answers after a short delay, recording the most requests it held at once. */
  let slow: Server;
  let slowUrl: string;
  let inFlight = 0;
  let maxInFlight = 0;
  let slowCalls = 0;

  const listen = async (server: Server): Promise<string> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    silent = createServer(() => {});
    silentUrl = await listen(silent);
    slow = createServer((request, response) => {
      inFlight++;
      slowCalls++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () =>
        setTimeout(() => {
          inFlight--;
          const lines = body.split('\n').filter((l) => l !== '').length;
          response.setHeader('content-type', 'text/csv');
          response.end('0.5\n'.repeat(lines));
        }, 30),
      );
    });
    slowUrl = await listen(slow);
  });
  afterAll(async () => {
    for (const server of [silent, slow]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const m = new SageMakerEndpointModel({
      endpoint: slowUrl,
      model: 'classifier',
      maxRowsPerCall: 10,
      concurrency: 2,
    });
    const out = await m.score(rows, 100, d);
    expect(slowCalls).toBe(10);
    expect(maxInFlight).toBe(2);
    expect(Array.from(out).every((v) => v === 0.5)).toBe(true);
    m.close();
  });

  it('times out, and the fallback decides: local scores in-process with a reason, retry fails the batch', async () => {
    const dead = () =>
      new SageMakerEndpointModel({
        endpoint: silentUrl,
        model: 'classifier',
        timeoutMs: 200,
        maxAttempts: 1,
      });
    const m = dead();
    await expect(m.score(rows, 10, d)).rejects.toThrow(/no answer within 200 ms/);
    const failures: string[] = [];
    const local = new Scorer(await fresh(), {
      remote: { classifier: m },
      explain: 'none',
      onRemoteFailure: (model, err) => failures.push(`${model}: ${err.constructor.name}`),
    });
    const r = await local.scoreBatchAsync(rows, 10);
    const { p } = await reference(rows, 10);
    expect(Array.from(r.classifierProbability.subarray(0, 10))).toEqual(Array.from(p));
    expect(
      r.reasons
        .slice(0, 10)
        .every((reasons) => reasons.some((x) => x.name === 'endpoint-unavailable:classifier')),
    ).toBe(true);
    expect(failures).toEqual(['classifier: RemoteModelError']);
    const retry = new Scorer(await fresh(), { remote: { classifier: dead() }, endpointFallback: 'retry' });
    await expect(retry.scoreBatchAsync(rows, 10)).rejects.toBeInstanceOf(RemoteModelError);
    m.close();
  });

  it('refuses bad endpoint options', () => {
    expect(() => new SageMakerEndpointModel({ endpoint: 'bad name!', model: 'anomaly' })).toThrow(
      ConfigError,
    );
    expect(() => new SageMakerEndpointModel({ endpoint: 'ok', model: 'anomaly', concurrency: 0 })).toThrow(
      ConfigError,
    );
    expect(() => new Scorer({} as ModelBundle, { endpointFallback: 'review' as never })).toThrow(ConfigError);
  });
});
