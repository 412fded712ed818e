import { type Transaction, toLabEnvelope } from '../../src/events/index.js';
import { type ModelBundle, trainBundle } from '../../src/scoring/index.js';
import { createSyntheticCreditcardSource } from '../../src/sources/index.js';

async function synthetic(count: number, seed: number, fraudRate: number): Promise<Transaction[]> {
  const out: Transaction[] = [];
  for await (const r of createSyntheticCreditcardSource({ seed, count, fraudRate }).records()) {
    if (r.kind === 'transaction') out.push(r.transaction);
  }
  return out;
}

/** A small bundle on the reference lab's features, trained on synthetic Kaggle-schema rows. */
export async function labBundle(): Promise<ModelBundle> {
  return trainBundle({
    name: 'lab',
    sourceName: 'synthetic-creditcard',
    transactions: await synthetic(6_000, 5, 0.03),
    featureSet: 'creditcard',
    trainFromMs: 0,
    trainToMs: 8.64e15,
    gbdt: { nTrees: 20, maxDepth: 3 },
    rcf: { numberOfTrees: 10, sampleSize: 64 },
  });
}

/** Lab envelopes of fresh synthetic rows, as the lab's producer2.py sends them. */
export async function labEnvelopesAsync(count: number): Promise<string[]> {
  return (await synthetic(count, 9, 0.1)).map((t) => toLabEnvelope(t));
}
