/**
 * Request and response bodies of the SageMaker inference contract, shared by the client
 * ({@link SageMakerEndpointModel}) and the server (`serve-model`), so both sides read and write
 * the same bytes.
 *
 * Requests (rows of features in the bundle's feature order, no header, no label):
 * - `text/csv`: one row per line, values separated by commas; an empty field (or `nan`) is a
 *   missing value. This is what the XGBoost and RCF built-in containers read.
 * - `application/json`: `{"instances": [[…], …]}`, `{"instances": [{"features": […]}, …]}` (the
 *   RCF container's JSON form), or a bare array of rows `[[…], …]`; `null` is a missing value.
 *
 * Responses:
 * - classifier, `text/csv`: one probability per line (the XGBoost container's CSV answer);
 *   `application/json`: `{"predictions": [{"score": p}, …]}` (the XGBoost container's JSON answer);
 * - anomaly, `application/json`: `{"scores": [{"score": x}, …]}` (the RCF container's answer);
 *   `text/csv`: one score per line.
 *
 * Numbers are written with JavaScript's shortest round-trip form, so a double read back is
 * bit-identical to the one written.
 */
import { ParseError } from '../errors/index.js';

/** Rows decoded from a request body. */
export interface DecodedRows {
  /** Row-major, `n × nFeatures`; NaN = missing. */
  data: Float64Array;
  n: number;
}

export const CSV = 'text/csv';
export const JSON_TYPE = 'application/json';

/** `n` rows of `d` values as CSV lines (missing values as empty fields). */
export function encodeCsvRows(features: ArrayLike<number>, n: number, d: number): string {
  const lines: string[] = new Array(n);
  const row: string[] = new Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = features[i * d + j]!;
      row[j] = Number.isNaN(v) ? '' : String(v);
    }
    lines[i] = row.join(',');
  }
  return lines.join('\n');
}

function csvValue(text: string, line: number, column: number): number {
  const t = text.trim();
  if (t === '' || t.toLowerCase() === 'nan') return Number.NaN;
  const v = Number(t);
  if (!Number.isFinite(v)) {
    throw new ParseError(`line ${line}, column ${column}`, `expected a number, got ${JSON.stringify(t)}`);
  }
  return v;
}

/** Reads CSV rows of exactly `d` values; blank lines are skipped. @throws ParseError naming line and column. */
export function decodeCsvRows(body: string, d: number): DecodedRows {
  const lines = body.split(/\r?\n/);
  const data: number[] = [];
  let n = 0;
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    if (fields.length !== d) {
      throw new ParseError(`line ${index + 1}`, `expected ${d} values, got ${fields.length}`);
    }
    for (let j = 0; j < d; j++) data.push(csvValue(fields[j]!, index + 1, j + 1));
    n++;
  });
  return { data: Float64Array.from(data), n };
}

/** Reads the JSON request forms listed above. @throws ParseError naming the instance and field. */
export function decodeJsonRows(body: unknown, d: number): DecodedRows {
  const instances = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null
      ? (body as { instances?: unknown }).instances
      : undefined;
  if (!Array.isArray(instances)) {
    throw new ParseError('instances', 'expected {"instances": [...]} or an array of rows');
  }
  const data = new Float64Array(instances.length * d);
  instances.forEach((instance, i) => {
    const row = Array.isArray(instance)
      ? instance
      : typeof instance === 'object' && instance !== null
        ? (instance as { features?: unknown }).features
        : undefined;
    if (!Array.isArray(row) || row.length !== d) {
      throw new ParseError(`instances[${i}]`, `expected an array of ${d} numbers (or {"features": [...]})`);
    }
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (v === null) data[i * d + j] = Number.NaN;
      else if (typeof v === 'number' && Number.isFinite(v)) data[i * d + j] = v;
      else
        throw new ParseError(`instances[${i}][${j}]`, `expected a number or null, got ${JSON.stringify(v)}`);
    }
  });
  return { data, n: instances.length };
}

/** One value per line. */
export function encodeCsvScores(scores: ArrayLike<number>, n = scores.length): string {
  let text = '';
  for (let i = 0; i < n; i++) text += `${scores[i]}\n`;
  return text;
}

/**
 * Scores from a response body: CSV (values separated by newlines or commas, as XGBoost
 * containers of every version answer), `{"scores": [{"score"}]}`, `{"predictions": [{"score"}]}`,
 * `{"predictions": [p, …]}` or a bare array of numbers.
 * @throws ParseError when the body is none of these.
 */
export function decodeScores(body: string, contentType: string | undefined): Float64Array {
  const looksJson = contentType?.includes('json') || /^\s*[[{]/.test(body);
  if (!looksJson) {
    const fields = body.split(/[\n,]/).filter((f) => f.trim() !== '');
    return Float64Array.from(fields, (f, i) => {
      const v = Number(f.trim());
      if (!Number.isFinite(v))
        throw new ParseError(`scores[${i}]`, `expected a number, got ${JSON.stringify(f)}`);
      return v;
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new ParseError('body', 'not valid JSON', { cause: err });
  }
  const list = Array.isArray(parsed)
    ? parsed
    : typeof parsed === 'object' && parsed !== null
      ? ((parsed as { scores?: unknown; predictions?: unknown }).scores ??
        (parsed as { predictions?: unknown }).predictions)
      : undefined;
  if (!Array.isArray(list))
    throw new ParseError('body', 'expected {"scores": [...]} or {"predictions": [...]}');
  return Float64Array.from(list, (entry: unknown, i) => {
    const v = typeof entry === 'object' && entry !== null ? (entry as { score?: unknown }).score : entry;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ParseError(
        `scores[${i}]`,
        `expected a number or {"score": number}, got ${JSON.stringify(entry)}`,
      );
    }
    return v;
  });
}
