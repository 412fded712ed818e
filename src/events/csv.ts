/**
 * Splitting one CSV line into fields (RFC 4180 quoting: fields in double quotes may hold
 * commas, and `""` inside them is one quote). Records spanning several lines are not
 * supported: neither the Kaggle file nor Sparkov files have line breaks inside fields.
 */

/**
 * Splits a CSV line into its fields, unquoting quoted ones. Returns `undefined` when the line
 * is malformed: an unterminated quote, or text between a closing quote and the next comma.
 * Lines without any quote take a fast path through `String.prototype.split`.
 */
export function splitCsvLine(line: string): string[] | undefined {
  if (line.indexOf('"') === -1) return line.split(',');
  const fields: string[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      // Quoted field: collect runs between doubled quotes.
      let value = '';
      let start = i + 1;
      for (;;) {
        const q = line.indexOf('"', start);
        if (q === -1) return undefined;
        value += line.slice(start, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          start = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (line.charCodeAt(i) !== 44) return undefined;
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? n : comma;
      const value = line.slice(i, end);
      if (value.indexOf('"') !== -1) return undefined;
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}
