/** One scored transaction, as the card-precision metric needs it. */
export interface CardPrecisionRow {
  /** Day index of the transaction (e.g. whole days since the start of the period). */
  readonly day: number;
  /** Card (customer) identifier. */
  readonly cardId: string;
  /** Model score; higher means more suspicious. */
  readonly score: number;
  /** True label: 1 fraud, 0 genuine. */
  readonly label: 0 | 1;
}

/** Options of {@link cardPrecisionAtK}. */
export interface CardPrecisionOptions {
  /**
   * Drop, from each later day, the cards that were correctly alerted (in the top k with a fraud
   * label) on an earlier day of the period: once investigators have confirmed a card compromised
   * it is blocked and no longer needs an alert. The handbook's `card_precision_top_k` does this by
   * default.
   * @default true
   */
  readonly removeDetectedCards?: boolean;
}

/** Per-day breakdown of {@link cardPrecisionAtKByDay}. */
export interface CardPrecisionDay {
  /** The day. */
  readonly day: number;
  /** Card precision top-k of that day: compromised cards among the top k, divided by k. */
  readonly precision: number;
  /** Compromised cards among the day's candidate cards (after removals). */
  readonly compromisedCards: number;
  /** Card ids alerted correctly that day (in the top k with a fraud label). */
  readonly detectedCards: readonly string[];
}

/** Result of {@link cardPrecisionAtKByDay}. */
export interface CardPrecisionResult {
  /** Mean of the daily precisions, over every day present in the rows; `NaN` with no rows. */
  readonly mean: number;
  /** Days in increasing order. */
  readonly days: readonly CardPrecisionDay[];
}

interface CardOfDay {
  score: number;
  label: number;
}

/**
 * Card Precision top-k as the Fraud Detection Handbook (Le Borgne et al., chapter 4, "Precision
 * top-k metrics", `card_precision_top_k`) defines it, with the daily breakdown:
 *
 * 1. Days are taken in increasing order.
 * 2. For each day, every card gets the maximum score and the maximum label of its transactions
 *    that day; cards are ranked by that score, highest first (ties broken by card id so the
 *    result is deterministic; the handbook leaves tie order to pandas).
 * 3. The day's precision is the number of fraud-labelled cards among the first k, divided by k —
 *    by k even when the day has fewer than k cards, so a short day cannot reach 1.
 * 4. With `removeDetectedCards` (default), cards detected on earlier days are removed first.
 * 5. The result is the mean over days, including days left empty by the removals (precision 0).
 *
 * Cards *known* to be compromised before the test period (the handbook removes them when it
 * builds the test set, from labels known after the feedback delay) are not removed here: the
 * caller filters those rows out before calling.
 *
 * @param k - alerts per day; a positive integer.
 * @throws RangeError if `k` is not a positive integer.
 */
export function cardPrecisionAtKByDay(
  rows: readonly CardPrecisionRow[],
  k = 100,
  options: CardPrecisionOptions = {},
): CardPrecisionResult {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
  const removeDetected = options.removeDetectedCards ?? true;
  const byDay = new Map<number, Map<string, CardOfDay>>();
  for (const row of rows) {
    let cards = byDay.get(row.day);
    if (cards === undefined) {
      cards = new Map();
      byDay.set(row.day, cards);
    }
    const card = cards.get(row.cardId);
    if (card === undefined) cards.set(row.cardId, { score: row.score, label: row.label });
    else {
      if (row.score > card.score) card.score = row.score;
      if (row.label > card.label) card.label = row.label;
    }
  }
  const dayKeys = [...byDay.keys()].sort((a, b) => a - b);
  const detected = new Set<string>();
  const days: CardPrecisionDay[] = [];
  let sum = 0;
  for (const day of dayKeys) {
    const candidates: [string, CardOfDay][] = [];
    let compromisedCards = 0;
    for (const entry of byDay.get(day)!) {
      if (detected.has(entry[0])) continue;
      candidates.push(entry);
      if (entry[1].label === 1) compromisedCards++;
    }
    candidates.sort((a, b) => b[1].score - a[1].score || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const detectedCards: string[] = [];
    const top = Math.min(k, candidates.length);
    for (let i = 0; i < top; i++) {
      const [cardId, card] = candidates[i]!;
      if (card.label === 1) detectedCards.push(cardId);
    }
    const precision = detectedCards.length / k;
    sum += precision;
    days.push({ day, precision, compromisedCards, detectedCards });
    if (removeDetected) for (const id of detectedCards) detected.add(id);
  }
  return { mean: days.length === 0 ? Number.NaN : sum / days.length, days };
}

/**
 * Card Precision top-k (the Fraud Detection Handbook's CP@k), averaged over days. See
 * {@link cardPrecisionAtKByDay} for the exact definition and the daily breakdown.
 */
export function cardPrecisionAtK(
  rows: readonly CardPrecisionRow[],
  k = 100,
  options: CardPrecisionOptions = {},
): number {
  return cardPrecisionAtKByDay(rows, k, options).mean;
}
