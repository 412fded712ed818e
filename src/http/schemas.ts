/**
 * JSON schemas of the API's routes, for the OpenAPI document. Write bodies are checked by the
 * event parsers (the stream's own), which name the field and reason of every problem; these
 * schemas describe the same formats for clients.
 */
import { DECISIONS } from '../store/index.js';
import { MAX_BATCH } from './requests.js';

export const nativeTransactionSchema = {
  type: 'object',
  title: 'Native transaction',
  description: 'fraudstream’s own record. Unknown fields are kept as extra data.',
  required: ['id', 'timestamp', 'amount'],
  properties: {
    id: { type: ['string', 'number'] },
    timestamp: { type: ['string', 'number'], description: 'ISO-8601 (UTC unless zoned) or epoch ms' },
    cardId: { type: ['string', 'number'] },
    terminalId: { type: ['string', 'number'] },
    amount: { type: 'number', minimum: 0 },
    channel: { type: 'string' },
    features: { type: 'object', additionalProperties: { type: 'number' } },
    label: { enum: [0, 1] },
  },
} as const;

export const labEnvelopeSchema = {
  type: 'object',
  title: 'Lab envelope',
  description: 'The reference lab’s record: 30 comma-separated numbers (Time, V1..V28, Amount) and metadata.',
  required: ['data', 'metadata'],
  properties: {
    data: { type: 'string', description: '"Time,V1,...,V28,Amount"' },
    metadata: {
      type: 'array',
      prefixItems: [
        { type: 'string', description: 'YYYY-MM-DD HH:MM:SS' },
        { type: 'string', description: 'transaction id' },
        { type: 'string', description: 'Web, Mobile or Store' },
      ],
    },
  },
} as const;

const transactionSchema = { oneOf: [nativeTransactionSchema, labEnvelopeSchema] } as const;

export const scoreBodySchema = {
  description: `One transaction, an array of up to ${MAX_BATCH}, or {"transactions": …, "dryRun": true} to score without storing or updating any state.`,
  oneOf: [
    transactionSchema,
    { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: transactionSchema },
    {
      type: 'object',
      required: ['transactions'],
      properties: {
        transactions: {
          oneOf: [
            transactionSchema,
            { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: transactionSchema },
          ],
        },
        dryRun: { type: 'boolean', default: false },
      },
    },
  ],
} as const;

const reasonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    contribution: { type: 'number' },
    source: { enum: ['classifier', 'anomaly', 'rule'] },
  },
} as const;

export const badRequestSchema = {
  type: 'object',
  description: 'bad input: the first problem’s field and reason, and every problem found',
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    field: { type: 'string' },
    reason: { type: 'string' },
    issues: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, reason: { type: 'string' } } },
    },
  },
} as const;

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

export const scoreResponseSchema = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean' },
    persisted: {
      type: ['object', 'null'],
      description: 'records stored now, and records already stored (a retry); null for a dry run',
      properties: { written: { type: 'integer' }, duplicates: { type: 'integer' } },
    },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          key: { type: 'string', description: 'record key: GET /api/transactions/{key}, POST /api/feedback' },
          id: { type: 'string' },
          decision: { enum: [...DECISIONS] },
          fraudScore: { type: 'number' },
          classifier: {
            type: 'object',
            properties: { probability: { type: 'number' }, prediction: { enum: [0, 1] } },
          },
          anomaly: {
            type: 'object',
            properties: {
              score: { type: 'number', description: 'raw Random Cut Forest score' },
              normalized: { type: 'number', description: 'in [0, 1]' },
            },
          },
          reasons: { type: 'array', items: reasonSchema },
          modelVersion: { type: 'string' },
          features: { type: 'object', additionalProperties: { type: ['number', 'null'] } },
          timestamp: { type: 'string', format: 'date-time', description: 'event time' },
          processedAtMs: { type: 'number' },
        },
      },
    },
  },
} as const;

export const feedbackBodySchema = {
  description: `Up to ${MAX_BATCH} labels: by record key, or describing the transaction. "at" = when the label became known (default now).`,
  type: 'object',
  required: ['labels'],
  properties: {
    labels: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH,
      items: {
        oneOf: [
          {
            type: 'object',
            required: ['key', 'label'],
            properties: {
              key: { type: 'string' },
              label: { enum: [0, 1] },
              at: { type: ['string', 'number'] },
            },
          },
          {
            type: 'object',
            required: ['transactionId', 'terminalId', 'timestamp', 'label'],
            properties: {
              transactionId: { type: ['string', 'number'] },
              cardId: { type: ['string', 'number'] },
              terminalId: { type: ['string', 'number'] },
              timestamp: { type: ['string', 'number'] },
              label: { enum: [0, 1] },
              at: { type: ['string', 'number'] },
            },
          },
        ],
      },
    },
  },
} as const;
