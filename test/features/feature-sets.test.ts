import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import type { Feedback, Transaction } from '../../src/events/index.js';
import {
  CREDITCARD_FEATURE_NAMES,
  createFeatureSet,
  FEATURE_SET_NAMES,
  type FeatureSetName,
  feedbackFor,
  isNightUtc,
  isWeekendUtc,
  MemoryWindowState,
  TRANSACTIONS_FEATURE_NAMES,
} from '../../src/features/index.js';

const HANDBOOK_INPUT_FEATURES = [
  'TX_AMOUNT',
  'TX_DURING_WEEKEND',
  'TX_DURING_NIGHT',
  'CUSTOMER_ID_NB_TX_1DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW',
  'CUSTOMER_ID_NB_TX_7DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW',
  'CUSTOMER_ID_NB_TX_30DAY_WINDOW',
  'CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW',
  'TERMINAL_ID_NB_TX_1DAY_WINDOW',
  'TERMINAL_ID_RISK_1DAY_WINDOW',
  'TERMINAL_ID_NB_TX_7DAY_WINDOW',
  'TERMINAL_ID_RISK_7DAY_WINDOW',
  'TERMINAL_ID_NB_TX_30DAY_WINDOW',
  'TERMINAL_ID_RISK_30DAY_WINDOW',
];

function tx(
  id: string,
  cardId: string,
  terminalId: string,
  iso: string,
  amount: number,
  label?: 0 | 1,
): Transaction {
  const t: Transaction = {
    id,
    timestampMs: Date.parse(iso),
    cardId,
    terminalId,
    amount,
    channel: 'unknown',
    format: 'native',
  };
  if (label !== undefined) t.label = label;
  return t;
}

/** Extracts one batch and returns its rows keyed by feature name. */
async function rows(
  set: ReturnType<typeof createFeatureSet>,
  batch: Transaction[],
): Promise<Record<string, number>[]> {
  const width = set.featureNames.length;
  const out = new Float64Array(batch.length * width);
  await set.extract(batch, out);
  return batch.map((_, i) =>
    Object.fromEntries(set.featureNames.map((name, j) => [name, out[i * width + j]!])),
  );
}

describe('calendar flags (UTC)', () => {
  it('flags Saturday and Sunday as weekend and hours 0..6 as night', () => {
    expect(isWeekendUtc(Date.parse('2018-04-01T12:00:00Z'))).toBe(1); // Sunday
    expect(isWeekendUtc(Date.parse('2018-04-02T00:00:00Z'))).toBe(0); // Monday
    expect(isWeekendUtc(Date.parse('2018-04-06T23:59:59Z'))).toBe(0); // Friday
    expect(isWeekendUtc(Date.parse('2018-04-07T00:00:00Z'))).toBe(1); // Saturday
    expect(isWeekendUtc(Date.parse('1969-12-28T10:00:00Z'))).toBe(1); // Sunday before the epoch
    expect(isNightUtc(Date.parse('2018-04-02T00:00:00Z'))).toBe(1);
    expect(isNightUtc(Date.parse('2018-04-02T06:59:59Z'))).toBe(1);
    expect(isNightUtc(Date.parse('2018-04-02T07:00:00Z'))).toBe(0);
    expect(isNightUtc(Date.parse('2018-04-02T23:59:59Z'))).toBe(0);
  });
});

describe('createFeatureSet', () => {
  it('knows both names and rejects others and contradicting delays', () => {
    expect([...FEATURE_SET_NAMES]).toEqual(['creditcard', 'transactions', 'transactions-plus']);
    expect(() => createFeatureSet('nope' as FeatureSetName)).toThrow(ConfigError);
    expect(() => createFeatureSet('transactions', { delayDays: -2 })).toThrow(ConfigError);
    const state = new MemoryWindowState({ delayDays: 3 });
    expect(() => createFeatureSet('transactions', { state, delayDays: 7 })).toThrow(ConfigError);
    expect(createFeatureSet('transactions', { state }).featureNames).toEqual(HANDBOOK_INPUT_FEATURES);
  });

  it('rejects an output buffer that is too small', async () => {
    const set = createFeatureSet('transactions');
    const batch = [tx('a', 'A', 'X', '2018-04-02T10:00:00Z', 1)];
    await expect(set.extract(batch, new Float64Array(14))).rejects.toThrow(ConfigError);
  });
});

describe('creditcard feature set', () => {
  it('copies the 30 Kaggle columns as given, NaN when missing, Amount from the transaction if absent', async () => {
    const set = createFeatureSet('creditcard');
    expect(set.featureNames).toEqual([
      'Time',
      ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`),
      'Amount',
    ]);
    expect(CREDITCARD_FEATURE_NAMES).toHaveLength(30);
    const features: Record<string, number> = { Time: 406, Amount: 0 };
    for (let i = 1; i <= 28; i++) features[`V${i}`] = i / 10 - 1.3;
    delete features.V5;
    const full = { ...tx('a', '', '', '2018-04-02T10:00:00Z', 0), features };
    const bare = { ...tx('b', '', '', '2018-04-02T10:00:00Z', 42.5), features: { Time: 7 } };
    const [r0, r1] = await rows(set, [full, bare]);
    expect(r0!.Time).toBe(406);
    expect(r0!.V1).toBeCloseTo(-1.2, 12);
    expect(r0!.V28).toBeCloseTo(1.5, 12);
    expect(r0!.V5).toBeNaN();
    expect(r0!.Amount).toBe(0);
    expect(r1!.Time).toBe(7);
    expect(r1!.V1).toBeNaN();
    expect(r1!.Amount).toBe(42.5);
    await set.feedback([feedbackFor({ ...full, label: 1 }, 7)]);
  });
});

describe('transactions feature set', () => {
  // tx1 is a fraud; its label is known exactly at tx4's time (7 days later).
  const history = [
    tx('tx1', 'A', 'X', '2018-04-02T10:00:00Z', 100, 1), // Monday
    tx('tx2', 'A', 'Y', '2018-04-03T03:00:00Z', 50, 0), // Tuesday night
    tx('tx3', 'B', 'X', '2018-04-07T12:00:00Z', 20, 0), // Saturday
    tx('tx4', 'A', 'X', '2018-04-09T10:00:00Z', 30), // Monday, tx1 + 7 days
    tx('tx5', 'B', 'X', '2018-04-10T12:00:00Z', 40),
  ];

  it('uses exactly the Handbook input features, in its order', () => {
    expect(TRANSACTIONS_FEATURE_NAMES).toEqual(HANDBOOK_INPUT_FEATURES);
    expect(createFeatureSet('transactions').featureNames).toEqual(HANDBOOK_INPUT_FEATURES);
  });

  it('computes hand-checked features for a small history with feedback at the delay', async () => {
    const set = createFeatureSet('transactions', { delayDays: 7 });
    const [r1, r2, r3] = await rows(set, history.slice(0, 3));
    await set.feedback([feedbackFor(history[0]!, 7)]);
    const [r4, r5] = await rows(set, history.slice(3));

    expect(r1).toMatchObject({ TX_AMOUNT: 100, TX_DURING_WEEKEND: 0, TX_DURING_NIGHT: 0 });
    expect(r1).toMatchObject({ CUSTOMER_ID_NB_TX_30DAY_WINDOW: 1, CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW: 100 });
    expect(r1).toMatchObject({ TERMINAL_ID_NB_TX_30DAY_WINDOW: 0, TERMINAL_ID_RISK_30DAY_WINDOW: 0 });
    expect(r2).toMatchObject({ TX_DURING_NIGHT: 1, TX_DURING_WEEKEND: 0 });
    expect(r2).toMatchObject({ CUSTOMER_ID_NB_TX_1DAY_WINDOW: 2, CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW: 75 });
    expect(r3).toMatchObject({ TX_DURING_WEEKEND: 1, TX_DURING_NIGHT: 0, CUSTOMER_ID_NB_TX_7DAY_WINDOW: 1 });
    expect(r3).toMatchObject({ TERMINAL_ID_NB_TX_7DAY_WINDOW: 0, TERMINAL_ID_RISK_7DAY_WINDOW: 0 });
    // tx4: tx1 sits exactly at t - 7 days, outside the card's 7-day window, inside every
    // terminal window ending at t - 7 days; its fraud label is known at t.
    expect(r4).toEqual({
      TX_AMOUNT: 30,
      TX_DURING_WEEKEND: 0,
      TX_DURING_NIGHT: 0,
      CUSTOMER_ID_NB_TX_1DAY_WINDOW: 1,
      CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW: 30,
      CUSTOMER_ID_NB_TX_7DAY_WINDOW: 2,
      CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW: 40,
      CUSTOMER_ID_NB_TX_30DAY_WINDOW: 3,
      CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW: 60,
      TERMINAL_ID_NB_TX_1DAY_WINDOW: 1,
      TERMINAL_ID_RISK_1DAY_WINDOW: 1,
      TERMINAL_ID_NB_TX_7DAY_WINDOW: 1,
      TERMINAL_ID_RISK_7DAY_WINDOW: 1,
      TERMINAL_ID_NB_TX_30DAY_WINDOW: 1,
      TERMINAL_ID_RISK_30DAY_WINDOW: 1,
    });
    // tx5: terminal windows end 2018-04-03T12:00; the 1-day one is empty (risk 0), tx3 is too recent.
    expect(r5).toEqual({
      TX_AMOUNT: 40,
      TX_DURING_WEEKEND: 0,
      TX_DURING_NIGHT: 0,
      CUSTOMER_ID_NB_TX_1DAY_WINDOW: 1,
      CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW: 40,
      CUSTOMER_ID_NB_TX_7DAY_WINDOW: 2,
      CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW: 30,
      CUSTOMER_ID_NB_TX_30DAY_WINDOW: 2,
      CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW: 30,
      TERMINAL_ID_NB_TX_1DAY_WINDOW: 0,
      TERMINAL_ID_RISK_1DAY_WINDOW: 0,
      TERMINAL_ID_NB_TX_7DAY_WINDOW: 1,
      TERMINAL_ID_RISK_7DAY_WINDOW: 1,
      TERMINAL_ID_NB_TX_30DAY_WINDOW: 1,
      TERMINAL_ID_RISK_30DAY_WINDOW: 1,
    });
  });

  it('never reads labels from the transactions themselves, only from feedback', async () => {
    const set = createFeatureSet('transactions');
    const out = await rows(set, history);
    expect(out.map((r) => r.TERMINAL_ID_RISK_30DAY_WINDOW)).toEqual([0, 0, 0, 0, 0]);
    expect(out[3]!.TERMINAL_ID_NB_TX_30DAY_WINDOW).toBe(1);
  });

  it('ignores a label that becomes known after the transaction being scored', async () => {
    const set = createFeatureSet('transactions');
    await rows(set, history.slice(0, 3));
    const late: Feedback = { ...feedbackFor(history[0]!, 7), atMs: history[3]!.timestampMs + 1 };
    await set.feedback([late]);
    const [r4, r5] = await rows(set, history.slice(3));
    expect(r4!.TERMINAL_ID_RISK_7DAY_WINDOW).toBe(0);
    expect(r5!.TERMINAL_ID_RISK_7DAY_WINDOW).toBe(1);
  });

  it('gives a re-delivered batch the same card and terminal counts', async () => {
    const set = createFeatureSet('transactions');
    const first = await rows(set, history);
    const again = await rows(set, history);
    expect(again).toEqual(first);
    expect(again.map((r) => r.CUSTOMER_ID_NB_TX_30DAY_WINDOW)).toEqual([1, 2, 1, 3, 2]);
    expect(again.map((r) => r.TERMINAL_ID_NB_TX_7DAY_WINDOW)).toEqual([0, 0, 0, 1, 1]);
  });

  it('gives overlapping extract calls their own buffers', async () => {
    const sequential = createFeatureSet('transactions');
    const overlapping = createFeatureSet('transactions');
    const a = new Float64Array(3 * 15);
    const b = new Float64Array(2 * 15);
    await sequential.extract(history.slice(0, 3), a);
    await sequential.extract(history.slice(3), b);
    const a2 = new Float64Array(3 * 15);
    const b2 = new Float64Array(2 * 15);
    await Promise.all([
      overlapping.extract(history.slice(0, 3), a2),
      overlapping.extract(history.slice(3), b2),
    ]);
    expect(a2).toEqual(a);
    expect(b2).toEqual(b);
  });

  it('marks card features missing when the card is unknown', async () => {
    const set = createFeatureSet('transactions');
    const [r] = await rows(set, [tx('lab', '', '', '2018-04-02T10:00:00Z', 9)]);
    expect(r!.TX_AMOUNT).toBe(9);
    expect(r!.CUSTOMER_ID_NB_TX_1DAY_WINDOW).toBeNaN();
    expect(r!.CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW).toBeNaN();
    expect(r!.TERMINAL_ID_RISK_7DAY_WINDOW).toBeNaN();
  });
});
