import type { ScoredTransaction } from '../types.js';

/**
 * The stored form of a scored transaction. Lab-format transactions carry their 30 input columns
 * in `transaction.features`, and the `creditcard` feature set copies them unchanged into
 * `features`, so storing both would keep every number twice (about a third of the document).
 * When `transaction.features` holds exactly the names and values of `features`, the stored
 * document leaves it out and says so with `"featuresShared": true`; {@link fromStoredDocument}
 * puts it back, so readers get the transaction as scored.
 */
export function toStoredDocument(r: ScoredTransaction): string {
  const own = r.transaction.features;
  if (own === undefined || !sameFeatures(own, r.features)) return JSON.stringify(r);
  return JSON.stringify({
    ...r,
    transaction: { ...r.transaction, features: undefined },
    featuresShared: true,
  });
}

/** Undoes {@link toStoredDocument} on a parsed document (returned as is when nothing was left out). */
export function fromStoredDocument(value: unknown): ScoredTransaction | undefined {
  if (value === undefined || value === null) return undefined;
  const doc = value as ScoredTransaction & { featuresShared?: boolean };
  if (doc.featuresShared !== true) return doc;
  const { featuresShared: _, ...rest } = doc;
  return { ...rest, transaction: { ...rest.transaction, features: { ...rest.features } } };
}

function sameFeatures(a: Record<string, number>, b: Record<string, number>): boolean {
  let n = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}
