import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { createJsonlSource, readLines } from '../../src/sources/index.js';
import { collect, tempDir } from './helpers.js';

const file = tempDir('jsonl');

async function lines(path: string): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const { line, text } of readLines(path)) out.push([line, text]);
  return out;
}

describe('createJsonlSource', () => {
  it('passes lines on byte for byte: CRLF, malformed, blank, padded, lone CR', async () => {
    const path = file('traffic.jsonl');
    writeFileSync(path, '{"a":1}\r\n{"broken": \n\n  {"padded": true}  \nx\ry\n{"last":"no newline"}');
    const records = await collect(createJsonlSource({ path }));
    expect(records).toEqual([
      { kind: 'raw', payload: '{"a":1}', line: 1 },
      { kind: 'raw', payload: '{"broken": ', line: 2 },
      { kind: 'raw', payload: '', line: 3 },
      { kind: 'raw', payload: '  {"padded": true}  ', line: 4 },
      { kind: 'raw', payload: 'x\ry', line: 5 },
      { kind: 'raw', payload: '{"last":"no newline"}', line: 6 },
    ]);
    const skipping = await collect(createJsonlSource({ path, skipEmptyLines: true }));
    expect(skipping.map((r) => r.kind === 'raw' && r.line)).toEqual([1, 2, 4, 5, 6]);
  });

  it('does not add a record for the final newline, nor for an empty file', async () => {
    const path = file('final.jsonl');
    writeFileSync(path, 'a\nb\n');
    expect(await lines(path)).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    writeFileSync(path, '');
    expect(await lines(path)).toEqual([]);
    writeFileSync(path, '\n');
    expect(await lines(path)).toEqual([[1, '']]);
  });

  it('joins lines and multi-byte characters that straddle read chunks', async () => {
    const path = file('long.jsonl');
    // The stream reads 64 KiB at a time: put a 3-byte character across the boundary, and a line over several chunks.
    const first = `${'a'.repeat(65535)}€z`;
    const second = 'b'.repeat(200_000);
    writeFileSync(path, `${first}\r\n${second}\n`);
    const got = await lines(path);
    expect(got.map(([n, t]) => [n, t.length])).toEqual([
      [1, first.length],
      [2, second.length],
    ]);
    expect(got[0]![1]).toBe(first);
    expect(got[1]![1]).toBe(second);
  });

  it('rejects bad options at construction', () => {
    expect(() => createJsonlSource({ path: '' })).toThrow(ConfigError);
  });
});
