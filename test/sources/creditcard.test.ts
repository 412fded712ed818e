import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ParseError } from '../../src/errors/index.js';
import { CREDITCARD_CSV_COLUMNS, CREDITCARD_START_TIME_MS } from '../../src/events/index.js';
import { Random } from '../../src/random/index.js';
import { createCreditcardSource } from '../../src/sources/index.js';
import { collect, tempDir, transactions } from './helpers.js';

const file = tempDir('creditcard');
const ROWS = 5000;

/** A Kaggle-format file of ROWS random rows; `quoted` writes the header and Class the way the real file does. */
function writeCreditcard(name: string, quoted: boolean, rows = ROWS): string {
  const random = new Random(7);
  const header = quoted
    ? CREDITCARD_CSV_COLUMNS.map((c) => `"${c}"`).join(',')
    : CREDITCARD_CSV_COLUMNS.join(',');
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const values = [String(i * 2)];
    for (let j = 1; j <= 28; j++) values.push(String(random.normal()));
    values.push((random.next() * 300).toFixed(2));
    const label = random.next() < 0.01 ? 1 : 0;
    values.push(quoted ? `"${label}"` : String(label));
    lines.push(values.join(','));
  }
  const path = file(name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const QUOTED = writeCreditcard('quoted.csv', true);
const PLAIN = writeCreditcard('plain.csv', false, 20);

describe('createCreditcardSource', () => {
  it('streams every row of a file with a quoted header', async () => {
    const txs = transactions(await collect(createCreditcardSource({ path: QUOTED })));
    expect(txs).toHaveLength(ROWS);
    const first = txs[0]!;
    expect(first.id).toBe('cc-0');
    expect(first.timestampMs).toBe(CREDITCARD_START_TIME_MS);
    expect(txs[10]!.timestampMs).toBe(CREDITCARD_START_TIME_MS + 20_000);
    expect(first.amount).toBe(first.features?.Amount);
    expect(Object.keys(first.features ?? {})).toHaveLength(30);
    expect(first.label === 0 || first.label === 1).toBe(true);
    expect(first.channel).toBe('unknown');
  });

  it('reads an unquoted file the same way', async () => {
    const txs = transactions(await collect(createCreditcardSource({ path: PLAIN, startTimeMs: 0 })));
    expect(txs.map((t) => t.timestampMs)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2000));
  });

  it('splits about 10% into test, deterministically, with train as the exact complement', async () => {
    const ids = async (split: 'test' | 'train', seed?: number): Promise<string[]> =>
      transactions(
        await collect(createCreditcardSource({ path: QUOTED, split, ...(seed !== undefined && { seed }) })),
      ).map((t) => t.id);
    const test = await ids('test');
    const train = await ids('train');
    // Binomial(5000, 0.1): sd ≈ 21, so ±90 is over 4 sd.
    expect(Math.abs(test.length - ROWS * 0.1)).toBeLessThan(90);
    expect(test.length + train.length).toBe(ROWS);
    const trainSet = new Set(train);
    expect(test.some((id) => trainSet.has(id))).toBe(false);
    expect(await ids('test')).toEqual(test);
    const other = await ids('test', 43);
    expect(other).not.toEqual(test);
    expect(Math.abs(other.length - ROWS * 0.1)).toBeLessThan(90);
  });

  it('spreads the hold-out over the whole file, not one block', async () => {
    const test = transactions(await collect(createCreditcardSource({ path: QUOTED, split: 'test' })));
    const firstHalf = test.filter((t) => Number(t.id.slice(3)) < ROWS / 2).length;
    expect(Math.abs(firstHalf - test.length / 2)).toBeLessThan(70);
  });

  it('rejects a wrong header, naming the file and the expected columns', async () => {
    const path = file('bad-header.csv');
    writeFileSync(path, 'Time,V1,V2\n0,1,2\n');
    const error = await collect(createCreditcardSource({ path })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).message).toContain(path);
    expect((error as ParseError).message).toContain('Time,V1,V2,V3');
    expect((error as ParseError).message).toContain('Amount,Class');
  });

  it('fails loudly on a malformed row, naming file and line', async () => {
    const path = file('bad-row.csv');
    const lines = [
      CREDITCARD_CSV_COLUMNS.join(','),
      Array(31).fill('0').join(','),
      `${Array(29).fill('0').join(',')},abc,0`,
    ];
    writeFileSync(path, `${lines.join('\n')}\n`);
    const seen: string[] = [];
    const error = await (async () => {
      for await (const r of createCreditcardSource({ path }).records())
        if (r.kind === 'transaction') seen.push(r.transaction.id);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['cc-0']);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).field).toBe('Amount');
    expect((error as ParseError).message).toContain(`${path} line 3`);
  });

  it('rejects an empty file and bad options', async () => {
    const path = file('empty.csv');
    writeFileSync(path, '');
    await expect(collect(createCreditcardSource({ path }))).rejects.toBeInstanceOf(ParseError);
    expect(() => createCreditcardSource({ path, split: 'dev' as 'all' })).toThrow(ConfigError);
    expect(() => createCreditcardSource({ path, testFraction: 1.5 })).toThrow(ConfigError);
    expect(() => createCreditcardSource({ path: '' })).toThrow(ConfigError);
  });
});
