import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ParseError } from '../../src/errors/index.js';
import { createSparkovSource } from '../../src/sources/index.js';
import { collect, tempDir, transactions } from './helpers.js';

const file = tempDir('sparkov');
const HEADER =
  ',trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud';

function row(i: number): string {
  return `${i},2019-01-01 00:${String(i % 60).padStart(2, '0')}:16,4992346398065154184,"fraud_Swaniawski, Nitzsche and Welch",misc_net,${i + 0.5},Tyler,Garcia,M,408 Bradley Rest,Doe Hill,VA,24433,38.4207,-79.4629,99,"Psychotherapist, ""dance""",1986-03-28,tx${i},1325376076,38.674999,-78.632459,${i % 2}`;
}

function writeSparkov(name: string, rows: number, header = HEADER): string {
  const path = file(name);
  writeFileSync(path, `${[header, ...Array.from({ length: rows }, (_, i) => row(i))].join('\n')}\n`);
  return path;
}

describe('createSparkovSource', () => {
  it('streams rows with quoted merchant names', async () => {
    const txs = transactions(await collect(createSparkovSource({ path: writeSparkov('plain.csv', 5) })));
    expect(txs.map((t) => t.id)).toEqual(['tx0', 'tx1', 'tx2', 'tx3', 'tx4']);
    expect(txs[0]!.terminalId).toBe('fraud_Swaniawski, Nitzsche and Welch');
    expect(txs[0]!.cardId).toBe('4992346398065154184');
    expect(txs[1]!.label).toBe(1);
    expect(txs[0]!.extra?.job).toBe('Psychotherapist, "dance"');
    expect(txs[0]!.extra?.id).toBe('0');
  });

  it('accepts an "id" first column', async () => {
    const path = writeSparkov('id.csv', 2, `id${HEADER}`);
    expect(transactions(await collect(createSparkovSource({ path }))).map((t) => t.extra?.id)).toEqual([
      '0',
      '1',
    ]);
  });

  it('resumes after an interruption without losing a record', async () => {
    const path = writeSparkov('resume.csv', 10);
    const resumeFile = file('last_line.txt');
    const first = transactions(await collect(createSparkovSource({ path, resumeFile }), 3)).map((t) => t.id);
    expect(first).toEqual(['tx0', 'tx1', 'tx2']);
    // The consumer stopped while holding tx2 (line 4): tx1 (line 3) is the last one handed over.
    expect(readFileSync(resumeFile, 'utf8')).toBe('3\n');
    const second = transactions(await collect(createSparkovSource({ path, resumeFile }))).map((t) => t.id);
    expect(second).toEqual(['tx2', 'tx3', 'tx4', 'tx5', 'tx6', 'tx7', 'tx8', 'tx9']);
    expect(readFileSync(resumeFile, 'utf8')).toBe('11\n');
    expect(await collect(createSparkovSource({ path, resumeFile }))).toEqual([]);
    expect(readdirSync(dirname(resumeFile)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the position every resumeEvery records while streaming', async () => {
    const path = writeSparkov('every.csv', 10);
    const resumeFile = file('every.txt');
    const seen: string[] = [];
    for await (const record of createSparkovSource({ path, resumeFile, resumeEvery: 2 }).records()) {
      if (record.kind !== 'transaction') continue;
      seen.push(existsSync(resumeFile) ? readFileSync(resumeFile, 'utf8') : '');
    }
    // Holding tx<i>, tx0..tx<i-1> are done; the file moves on after every second of them.
    expect(seen.slice(0, 6)).toEqual(['', '', '3\n', '3\n', '5\n', '5\n']);
  });

  it('fails loudly on a malformed row and keeps the position of the last good one', async () => {
    const path = file('bad.csv');
    writeFileSync(path, `${HEADER}\n${row(0)}\n${row(1).replace(',1.5,', ',-1.5,')}\n${row(2)}\n`);
    const resumeFile = file('bad.txt');
    const error = await collect(createSparkovSource({ path, resumeFile })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).field).toBe('amt');
    expect((error as ParseError).message).toContain(`${path} line 3`);
    expect(readFileSync(resumeFile, 'utf8')).toBe('2\n');
  });

  it('rejects a header without the needed columns, a bad resume file and bad options', async () => {
    const path = file('not-sparkov.csv');
    writeFileSync(path, 'a,b,c\n1,2,3\n');
    const error = await collect(createSparkovSource({ path })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).message).toMatch(/not-sparkov\.csv.*missing trans_date_trans_time/);
    const resumeFile = file('garbage.txt');
    writeFileSync(resumeFile, 'line five');
    await expect(
      collect(createSparkovSource({ path: writeSparkov('ok.csv', 1), resumeFile })),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(() => createSparkovSource({ path, resumeEvery: 0 })).toThrow(ConfigError);
  });
});
