/** Sparkov-format CSV files (`fraudTrain.csv`, `fraudTest.csv`), streamed, resumable like the lab's `producer.py`. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError, ParseError } from '../errors/index.js';
import { parseSparkovCsvLine, SPARKOV_REQUIRED_COLUMNS, splitCsvLine } from '../events/index.js';
import { atLine, readLines } from './lines.js';
import { requireNumber, requirePath, stripUndefined } from './options.js';
import type { Source, SourceRecord } from './types.js';

/** Options of {@link createSparkovSource}. */
export interface SparkovSourceOptions {
  /** The CSV file; its header names the columns (the first, the row index, is unnamed in real files). */
  path: string;
  /**
   * File holding the resume position, like the lab's `last_line.txt`: the line number (1-based,
   * the header being line 1) of the last record handed over. Reading starts after it; the file
   * is created when missing and rewritten atomically (temporary file + rename) as records go.
   * @default undefined (no resuming; always from the top)
   */
  resumeFile?: string;
  /** Records between two writes of {@link resumeFile} (it is written at the end in any case). @default 1000 */
  resumeEvery?: number;
}

/** Defaults of {@link SparkovSourceOptions}. */
export const DEFAULT_SPARKOV_SOURCE_OPTIONS = { resumeEvery: 1000 } as const;

/** {@link SparkovSourceOptions} with every default filled in. */
export type ResolvedSparkovSourceOptions = Required<Omit<SparkovSourceOptions, 'resumeFile'>> &
  Pick<SparkovSourceOptions, 'resumeFile'>;

/** Validates {@link SparkovSourceOptions} and fills in defaults; throws {@link ConfigError}. */
export function resolveSparkovSourceOptions(options: SparkovSourceOptions): ResolvedSparkovSourceOptions {
  const path = requirePath('sparkov', 'path', options?.path);
  const resolved: ResolvedSparkovSourceOptions = {
    ...DEFAULT_SPARKOV_SOURCE_OPTIONS,
    ...stripUndefined(options),
    path,
  };
  if (resolved.resumeFile !== undefined) requirePath('sparkov', 'resumeFile', resolved.resumeFile);
  requireNumber('sparkov', 'resumeEvery', resolved.resumeEvery, 1, Number.MAX_SAFE_INTEGER);
  if (!Number.isInteger(resolved.resumeEvery))
    throw new ConfigError('sparkov source: resumeEvery must be an integer');
  return resolved;
}

/**
 * Streams a Sparkov CSV as transactions (mapping in `parseSparkovRecord`), with constant
 * memory. The header is checked for the columns a transaction needs; a malformed row throws a
 * {@link ParseError} whose message names the file and line. Blank lines are skipped.
 *
 * With `resumeFile`, a record counts as handed over once the consumer asks for the next one
 * (at-least-once): if the consumer stops or fails while holding a record, that record is
 * yielded again on the next run rather than lost. One run at a time per resume file.
 */
export function createSparkovSource(options: SparkovSourceOptions): Source {
  const { path, resumeFile, resumeEvery } = resolveSparkovSourceOptions(options);
  return {
    name: `sparkov:${path}`,
    async *records(): AsyncGenerator<SourceRecord, void, undefined> {
      const startAfter = resumeFile === undefined ? 0 : await readResumeLine(resumeFile);
      let done = startAfter;
      let written = startAfter;
      let sinceWrite = 0;
      let columns: string[] | undefined;
      try {
        for await (const { text, line } of readLines(path)) {
          if (columns === undefined) {
            columns = headerColumns(path, text);
            continue;
          }
          if (line <= startAfter || text.length === 0) continue;
          const transaction = parseSparkovCsvLine(text, columns);
          if (transaction instanceof ParseError) throw atLine(transaction, path, line);
          yield { kind: 'transaction', transaction };
          done = line;
          if (resumeFile !== undefined && ++sinceWrite >= resumeEvery) {
            await writeResumeLine(resumeFile, done);
            written = done;
            sinceWrite = 0;
          }
        }
        if (columns === undefined)
          throw new ParseError('header', `${path} is empty; expected a Sparkov header`);
      } finally {
        if (resumeFile !== undefined && done !== written) await writeResumeLine(resumeFile, done);
      }
    },
  };
}

function headerColumns(path: string, line: string): string[] {
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  const names = splitCsvLine(text)?.map((name) => name.trim());
  const missing =
    names === undefined
      ? SPARKOV_REQUIRED_COLUMNS
      : SPARKOV_REQUIRED_COLUMNS.filter((c) => !names.includes(c));
  if (names === undefined || missing.length > 0) {
    const got = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw new ParseError(
      'header',
      `${path}: not a Sparkov header, missing ${missing.join(', ')} (expected ",trans_date_trans_time,cc_num,merchant,…"), got ${JSON.stringify(got)}`,
    );
  }
  // Real files leave the row-index column unnamed; pandas calls it "Unnamed: 0".
  if (names[0] === '' || names[0] === 'Unnamed: 0') names[0] = 'id';
  return names;
}

async function readResumeLine(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(
      `sparkov source: resume file ${file} must hold a line number, got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return value;
}

/** Writes the position atomically: a crash leaves either the old or the new number, never a torn file. */
async function writeResumeLine(file: string, line: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${line}\n`);
  await rename(temporary, file);
}
