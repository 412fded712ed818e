import type { FastifyInstance } from 'fastify';
import { parseUtcDateTime } from '../events/index.js';
import {
  DECISIONS,
  isSearchCursor,
  MAX_SEARCH_LIMIT,
  type Store,
  type TransactionQuery,
} from '../store/index.js';
import { choiceParam, InvalidQueryError, intParam, type Query } from './query.js';

/** Transactions in a search page unless `limit` says otherwise. */
export const DEFAULT_SEARCH_LIMIT = 50;

const transactionSchema = {
  type: 'object',
  description:
    'A stored scored transaction: the transaction, its features, both models’ outputs, the fraud score, decision, reasons, model version and timestamps.',
  properties: {
    key: { type: 'string' },
    transaction: { type: 'object', additionalProperties: true },
    features: { type: 'object', additionalProperties: { type: ['number', 'null'] } },
    classifierProbability: { type: 'number' },
    anomalyScore: { type: 'number' },
    anomalyNormalized: { type: 'number' },
    fraudScore: { type: 'number' },
    decision: { type: 'string', enum: [...DECISIONS] },
    reasons: { type: 'array', items: { type: 'object', additionalProperties: true } },
    modelVersion: { type: 'string' },
    enqueuedAtMs: { type: 'number' },
    processedAtMs: { type: 'number' },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

/**
 * `GET /api/transactions/:key` (one stored transaction, for the dashboard's detail view and for
 * scripts) and `GET /api/transactions` (search through the store's secondary indexes). Both
 * only read the store, so the dashboard serves them too.
 */
export function registerTransactionReads(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { key: string } }>(
    '/api/transactions/:key',
    {
      schema: {
        summary: 'One stored transaction by its record key',
        tags: ['transactions'],
        params: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] },
        response: { 200: transactionSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const found = await store.getTransaction(request.params.key);
      if (!found) {
        return reply.code(404).send({
          error: 'Not Found',
          message: `no stored transaction ${JSON.stringify(request.params.key)}`,
        });
      }
      return found;
    },
  );

  app.get<{ Querystring: Query }>(
    '/api/transactions',
    {
      schema: {
        summary: 'Search stored transactions, newest event time first',
        description:
          'Filters combine; `from`/`to` bound the event time (inclusive; epoch ms or ISO-8601). Pass `nextCursor` as `cursor` for the next page.',
        tags: ['transactions'],
        querystring: {
          type: 'object',
          properties: {
            card: { type: 'string' },
            terminal: { type: 'string' },
            decision: { type: 'string', enum: [...DECISIONS] },
            from: { type: 'string', description: 'epoch ms or ISO-8601' },
            to: { type: 'string', description: 'epoch ms or ISO-8601' },
            limit: {
              type: 'string',
              description: `1 to ${MAX_SEARCH_LIMIT}, default ${DEFAULT_SEARCH_LIMIT}`,
            },
            cursor: { type: 'string' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              transactions: { type: 'array', items: transactionSchema },
              nextCursor: { type: 'string' },
            },
          },
        },
      },
    },
    async (request) => store.searchTransactions(searchQuery(request.query)),
  );
}

/** The store query of a search request; throws {@link InvalidQueryError} naming the parameter. */
export function searchQuery(query: Query): TransactionQuery {
  const text = (name: string): string | undefined => {
    const v = query[name];
    if (Array.isArray(v)) throw new InvalidQueryError(name, 'must be given once');
    return v === undefined || v === '' ? undefined : v;
  };
  const time = (name: string): number | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const ms = /^-?\d+$/.test(v) ? Number(v) : parseUtcDateTime(v);
    if (!Number.isFinite(ms)) {
      throw new InvalidQueryError(
        name,
        `must be epoch milliseconds or an ISO-8601 time, got ${JSON.stringify(v)}`,
      );
    }
    return ms;
  };
  const out: TransactionQuery = {
    limit: intParam(query, 'limit', 1, MAX_SEARCH_LIMIT, DEFAULT_SEARCH_LIMIT),
  };
  const card = text('card');
  const terminal = text('terminal');
  const decision =
    text('decision') === undefined ? undefined : choiceParam(query, 'decision', DECISIONS, 'approve');
  const fromMs = time('from');
  const toMs = time('to');
  const cursor = text('cursor');
  if (card !== undefined) out.cardId = card;
  if (terminal !== undefined) out.terminalId = terminal;
  if (decision !== undefined) out.decision = decision;
  if (fromMs !== undefined) out.fromMs = fromMs;
  if (toMs !== undefined) out.toMs = toMs;
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
    throw new InvalidQueryError('to', 'must not be before from');
  }
  if (cursor !== undefined) {
    if (!isSearchCursor(cursor)) {
      throw new InvalidQueryError('cursor', 'is not a cursor this server returned');
    }
    out.cursor = cursor;
  }
  return out;
}
