/** Reading a text file line by line, byte-exact, with line numbers and constant memory. */
import { createReadStream } from 'node:fs';
import { ParseError } from '../errors/index.js';

/** One line of a file, without its terminator. */
export interface FileLine {
  /** The line decoded as UTF-8, `\n` or `\r\n` removed (a lone `\r` stays: it is not a terminator here). */
  text: string;
  /** 1-based line number. */
  line: number;
}

/**
 * Longest line accepted, in bytes. Guards memory against a file without line breaks; real
 * records are a few hundred bytes and payloads are capped at 64 KiB anyway.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Yields the lines of a file. Unlike `node:readline`, only `\n` ends a line (readline also
 * splits on a lone `\r`, which would cut recorded payloads apart), one `\r` before it is
 * dropped, and a final line without a newline is yielded while a final newline does not
 * create an empty extra line. Bytes that are not valid UTF-8 become U+FFFD.
 */
export async function* readLines(path: string): AsyncGenerator<FileLine, void, undefined> {
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const newline = chunk.indexOf(10, start);
        if (newline === -1) break;
        const piece = chunk.subarray(start, newline);
        const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
        pending = [];
        pendingBytes = 0;
        line++;
        yield { text: decode(bytes), line };
        start = newline + 1;
      }
      if (start < chunk.length) {
        pending.push(chunk.subarray(start));
        pendingBytes += chunk.length - start;
        if (pendingBytes > MAX_LINE_BYTES) {
          throw new ParseError('line', `${path} line ${line + 1} is longer than ${MAX_LINE_BYTES} bytes`);
        }
      }
    }
    if (pending.length > 0) {
      line++;
      yield { text: decode(Buffer.concat(pending)), line };
    }
  } finally {
    stream.destroy();
  }
}

function decode(bytes: Buffer): string {
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
  return bytes.toString('utf8', 0, end);
}

/** The same parse error, with the file and line in its message, for errors in the user's own files. */
export function atLine(error: ParseError, path: string, line: number): ParseError {
  return new ParseError(error.field, `${error.reason} (${path} line ${line})`, { cause: error });
}
