/** Recorded traffic: a file with one payload per line, passed on unparsed. */
import { ConfigError } from '../errors/index.js';
import { readLines } from './lines.js';
import { requirePath, stripUndefined } from './options.js';
import type { Source, SourceRecord } from './types.js';

/** Options of {@link createJsonlSource}. */
export interface JsonlSourceOptions {
  /** File to read, one payload per line. */
  path: string;
  /**
   * Drop lines that are completely empty. Off by default: an empty line is passed on as an
   * empty raw payload, which the consumer dead-letters like any other bad record, so what was
   * recorded reaches consumers unchanged.
   * @default false
   */
  skipEmptyLines?: boolean;
}

/** Defaults of {@link JsonlSourceOptions}. */
export const DEFAULT_JSONL_SOURCE_OPTIONS = { skipEmptyLines: false } as const;

/** {@link JsonlSourceOptions} with every default filled in. */
export type ResolvedJsonlSourceOptions = Required<JsonlSourceOptions>;

/** Validates {@link JsonlSourceOptions} and fills in defaults; throws {@link ConfigError}. */
export function resolveJsonlSourceOptions(options: JsonlSourceOptions): ResolvedJsonlSourceOptions {
  const path = requirePath('jsonl', 'path', options?.path);
  const resolved = { ...DEFAULT_JSONL_SOURCE_OPTIONS, ...stripUndefined(options), path };
  if (typeof resolved.skipEmptyLines !== 'boolean')
    throw new ConfigError('jsonl source: skipEmptyLines must be a boolean');
  return resolved;
}

/**
 * A source that yields every line of a file as `{ kind: 'raw', payload, line }`, byte for byte
 * (only the `\n` or `\r\n` terminator is removed; nothing is trimmed or parsed), so recorded
 * traffic, malformed lines included, reaches consumers exactly as sent. A final newline does
 * not create an extra record, and a byte-order mark on the first line is kept (the parsers skip
 * it). The file is read as UTF-8; bytes that are not valid UTF-8 become U+FFFD. Commands that score or learn parse each payload with
 * `parsePayload`, which detects the format per line.
 */
export function createJsonlSource(options: JsonlSourceOptions): Source {
  const { path, skipEmptyLines } = resolveJsonlSourceOptions(options);
  return {
    name: `jsonl:${path}`,
    async *records(): AsyncGenerator<SourceRecord, void, undefined> {
      for await (const { text, line } of readLines(path)) {
        if (skipEmptyLines && text.length === 0) continue;
        yield { kind: 'raw', payload: text, line };
      }
    },
  };
}
