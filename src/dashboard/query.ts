import { FraudstreamError } from '../errors/index.js';

/** A request parameter of the dashboard's API is missing its mark; answered with 400 and the reason. */
export class InvalidQueryError extends FraudstreamError {
  override name = 'InvalidQueryError';
  /** The parameter at fault. */
  readonly parameter: string;
  /** One-line reason, e.g. `must be 1000 or 10000, got "5"`. */
  readonly reason: string;
  constructor(parameter: string, reason: string) {
    super(`${parameter} ${reason}`);
    this.parameter = parameter;
    this.reason = reason;
  }
}

/** A parsed query string as fastify hands it over: repeated parameters arrive as arrays. */
export type Query = Readonly<Record<string, string | string[] | undefined>>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new InvalidQueryError(name, 'must be given once');
  return value === undefined || value === '' ? undefined : value;
}

/** An integer parameter in [min, max], or `fallback` when absent. */
export function intParam(query: Query, name: string, min: number, max: number, fallback: number): number {
  const text = single(query, name);
  if (text === undefined) return fallback;
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max))
    throw new InvalidQueryError(
      name,
      `must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  return n;
}

/** One of `choices` (compared as text), or `fallback` when absent. */
export function choiceParam<T extends string | number>(
  query: Query,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const text = single(query, name);
  if (text === undefined) return fallback;
  const found = choices.find((c) => String(c) === text);
  if (found === undefined)
    throw new InvalidQueryError(name, `must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`);
  return found;
}
