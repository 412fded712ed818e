/**
 * The endpoint fallback seen from the consumer: with `retry` a failing endpoint holds the batch
 * like a failing store (retried with back-off, never redelivered or dead-lettered), and nothing
 * is lost or decided without it; with `local` every record is
 * decided at once by the in-process model and says so in its reasons.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Transaction, toNativeJson } from '../../src/events/index.js';
import { createFeatureSet } from '../../src/features/index.js';
import { runInProcess } from '../../src/pipeline/index.js';
import { SageMakerEndpointModel } from '../../src/sagemaker/index.js';
import { type EndpointFallback, Scorer, type TrainedBundle } from '../../src/scoring/index.js';
import type { Source } from '../../src/sources/index.js';
import { MemoryStore, type PersistResult, type ScoredTransaction } from '../../src/store/index.js';
import { smallWorld, trainSmallBundle } from '../scoring/fixtures.js';

const FAILING_CALLS = 3;
/** How many first calls the endpoint fails in the current run. */
let failing = FAILING_CALLS;
const PROBABILITY = 0.25;

let bundle: TrainedBundle;
let live: Transaction[];
let server: Server;
let url: string;
let calls = 0;

beforeAll(async () => {
  bundle = await trainSmallBundle(50, 31, 49);
  const liveFrom = Date.UTC(2018, 3, 1) + 50 * 86_400_000;
  live = smallWorld(52)
    .filter((t) => t.timestampMs >= liveFrom)
    .slice(0, 300);
  // Fails its first calls with HTTP 500, then answers a fixed probability per row.
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      calls++;
      if (calls <= failing) {
        response.statusCode = 500;
        response.end('{"message":"model container is restarting"}');
        return;
      }
      response.setHeader('content-type', 'text/csv');
      response.end(`${PROBABILITY}\n`.repeat(body.split('\n').filter((l) => l !== '').length));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

function source(): Source {
  return {
    name: 'test',
    async *records() {
      for (const [i, t] of live.entries()) yield { kind: 'raw', payload: toNativeJson(t), line: i + 1 };
    },
  };
}

/** Keeps what was persisted for the first time, to inspect every stored document. */
class RecordingStore extends MemoryStore {
  readonly stored = new Map<string, ScoredTransaction>();
  override async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    for (const r of results) if (!this.stored.has(r.key)) this.stored.set(r.key, r);
    return super.persistBatch(results);
  }
}

async function run(fallback: EndpointFallback, failingCalls: number) {
  calls = 0;
  failing = failingCalls;
  const store = new RecordingStore();
  const endpoint = new SageMakerEndpointModel({ endpoint: url, model: 'classifier', maxAttempts: 1 });
  const result = await runInProcess({
    source: source(),
    store,
    featureSet: createFeatureSet('transactions'),
    scorer: new Scorer(bundle, {
      remote: { classifier: endpoint },
      endpointFallback: fallback,
      explain: 'none',
    }),
    batchSize: 100,
  });
  endpoint.close();
  return { result, store };
}

describe('consumer with a failing classifier endpoint', () => {
  it('retry: the batch is held and retried; every record is stored once, scored by the endpoint, nothing dead-lettered', async () => {
    const { result, store } = await run('retry', FAILING_CALLS);
    expect(result.consumed.persisted).toBe(live.length);
    expect(result.consumed.deadLettered).toBe(0);
    expect(result.consumed.storeRetries).toBe(FAILING_CALLS);
    expect(result.consumed.lastStoreError).toMatch(/RemoteModelError/);
    expect(calls).toBeGreaterThan(FAILING_CALLS);
    expect(await store.countTransactions()).toBe(live.length);
    expect(store.stored.size).toBe(live.length);
    for (const doc of store.stored.values()) {
      expect(doc.classifierProbability).toBe(PROBABILITY);
      expect(doc.reasons.some((r) => r.name.startsWith('endpoint-unavailable'))).toBe(false);
    }
  });

  it('local: nothing waits; the batches the endpoint failed are scored in-process and carry the reason', async () => {
    const { result, store } = await run('local', 1);
    expect(result.consumed.persisted).toBe(live.length);
    expect(result.consumed.storeRetries).toBe(0);
    let fellBack = 0;
    let remote = 0;
    for (const doc of store.stored.values()) {
      if (doc.reasons.some((r) => r.name === 'endpoint-unavailable:classifier')) {
        fellBack++;
        expect(doc.classifierProbability).not.toBe(PROBABILITY);
      } else {
        remote++;
        expect(doc.classifierProbability).toBe(PROBABILITY);
      }
    }
    // Exactly the first batch (the endpoint's one failed call) fell back.
    expect(fellBack).toBeGreaterThan(0);
    expect(fellBack).toBeLessThanOrEqual(100);
    expect(remote).toBeGreaterThan(0);
    expect(fellBack + remote).toBe(live.length);
  });
});
