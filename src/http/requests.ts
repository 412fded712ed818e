/**
 * Bodies of the API's write requests, checked by the same parsers as the stream's records:
 * a transaction the stream would accept, the API accepts, and the reverse.
 */
import { BadRequestError, ParseError, type RequestIssue } from '../errors/index.js';
import {
  type Feedback,
  type Label,
  parsePayload,
  parseUtcDateTime,
  type Transaction,
} from '../events/index.js';
import type { ScoredTransaction } from '../store/index.js';

/** Most transactions (or labels) in one request. */
export const MAX_BATCH = 1_000;

/** A score request, parsed. */
export interface ScoreRequest {
  transactions: Transaction[];
  dryRun: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a `POST /api/score` body: one transaction (native or lab format), an array of them, or
 * `{"transactions": one or an array, "dryRun": true|false}`; a bare transaction may also carry
 * `"dryRun"`. Every transaction is parsed before any is scored: one bad transaction rejects the
 * request, with every problem's field and reason. Throws {@link BadRequestError}.
 */
export function parseScoreRequest(body: unknown): ScoreRequest {
  let items: unknown[];
  let prefix: (i: number) => string;
  let dryRun: unknown = false;
  if (Array.isArray(body)) {
    items = body;
    prefix = (i) => `[${i}]`;
  } else if (isObject(body) && 'transactions' in body) {
    const { transactions, dryRun: flag, ...rest } = body;
    const extra = Object.keys(rest);
    if (extra.length > 0) {
      throw new BadRequestError([
        { field: extra[0]!, reason: 'is not a field of a score request (transactions, dryRun)' },
      ]);
    }
    dryRun = flag ?? false;
    if (Array.isArray(transactions)) {
      items = transactions;
      prefix = (i) => `transactions[${i}]`;
    } else {
      items = [transactions];
      prefix = () => 'transactions';
    }
  } else if (isObject(body)) {
    const { dryRun: flag, ...transaction } = body;
    dryRun = flag ?? false;
    items = [transaction];
    prefix = () => '';
  } else {
    throw new BadRequestError([
      { field: 'body', reason: 'expected a transaction, an array of transactions or {"transactions": …}' },
    ]);
  }
  if (typeof dryRun !== 'boolean') {
    throw new BadRequestError([
      { field: 'dryRun', reason: `expected true or false, got ${JSON.stringify(dryRun)}` },
    ]);
  }
  if (items.length === 0)
    throw new BadRequestError([
      { field: prefix(0).replace(/\[0\]$/, '') || 'body', reason: 'holds no transaction' },
    ]);
  if (items.length > MAX_BATCH) {
    throw new BadRequestError([
      {
        field: prefix(0).replace(/\[0\]$/, '') || 'body',
        reason: `holds ${items.length} transactions; at most ${MAX_BATCH} per request`,
      },
    ]);
  }
  const transactions: Transaction[] = [];
  const issues: RequestIssue[] = [];
  items.forEach((item, i) => {
    const at = prefix(i);
    if (!isObject(item)) {
      issues.push({
        field: at || 'body',
        reason: 'expected a JSON object (native transaction or lab envelope)',
      });
      return;
    }
    // The stream's parser, on the record's JSON text as the stream would carry it.
    const parsed = parsePayload(JSON.stringify(item));
    if (parsed instanceof ParseError) {
      issues.push({ field: joinField(at, parsed.field), reason: parsed.reason });
    } else {
      transactions.push(parsed);
    }
  });
  if (issues.length > 0) throw new BadRequestError(issues);
  return { transactions, dryRun };
}

/** A label as the API receives it, before it is resolved to a stored transaction. */
type LabelItem =
  | { kind: 'key'; key: string; label: Label; atMs: number; field: string }
  | { kind: 'feedback'; feedback: Feedback };

/**
 * Reads a `POST /api/feedback` body: `{"labels": [...]}` or a bare array or one label. A label
 * names a stored transaction by record key (`{"key": "…@api", "label": 1}`) or describes it
 * (`{"transactionId", "terminalId", "cardId"?, "timestamp", "label"}`); `"at"` (epoch ms or
 * ISO-8601) is when the label became known, now by default. Throws {@link BadRequestError}.
 */
export function parseFeedbackRequest(body: unknown, nowMs: number): LabelItem[] {
  let items: unknown[];
  let prefix: (i: number) => string;
  if (isObject(body) && Array.isArray(body.labels)) {
    items = body.labels;
    prefix = (i) => `labels[${i}]`;
  } else if (Array.isArray(body)) {
    items = body;
    prefix = (i) => `[${i}]`;
  } else if (isObject(body)) {
    items = [body];
    prefix = () => '';
  } else {
    throw new BadRequestError([
      { field: 'body', reason: 'expected {"labels": [...]}, an array of labels or one label' },
    ]);
  }
  if (items.length === 0 || items.length > MAX_BATCH) {
    throw new BadRequestError([
      { field: 'labels', reason: `must hold 1 to ${MAX_BATCH} labels, got ${items.length}` },
    ]);
  }
  const out: LabelItem[] = [];
  const issues: RequestIssue[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = prefix(i);
    const issue = (field: string, reason: string): void => {
      issues.push({ field: joinField(at, field), reason });
    };
    if (!isObject(item)) {
      issue('', 'expected a JSON object');
      continue;
    }
    const label = item.label;
    if (label !== 0 && label !== 1) {
      issue('label', `expected 0 or 1, got ${JSON.stringify(label)}`);
      continue;
    }
    const atMs = item.at === undefined ? nowMs : timeOf(item.at);
    if (!Number.isFinite(atMs)) {
      issue('at', 'expected epoch milliseconds or an ISO-8601 time');
      continue;
    }
    if (typeof item.key === 'string' && item.key !== '') {
      out.push({ kind: 'key', key: item.key, label, atMs, field: joinField(at, 'key') });
      continue;
    }
    const id = item.transactionId;
    if (typeof id !== 'string' && typeof id !== 'number') {
      issue(
        'key',
        'expected the record key of a stored transaction, or transactionId, terminalId and timestamp',
      );
      continue;
    }
    if (typeof item.terminalId !== 'string' && typeof item.terminalId !== 'number') {
      issue('terminalId', 'expected a string or number');
      continue;
    }
    const t = timeOf(item.timestamp);
    if (!Number.isFinite(t)) {
      issue('timestamp', 'expected epoch milliseconds or an ISO-8601 time');
      continue;
    }
    out.push({
      kind: 'feedback',
      feedback: {
        transactionId: String(id),
        cardId: item.cardId === undefined ? '' : String(item.cardId),
        terminalId: String(item.terminalId),
        transactionTimestampMs: t,
        label,
        atMs,
      },
    });
  }
  if (issues.length > 0) throw new BadRequestError(issues);
  return out;
}

/** Resolves labels given by record key against the store; an unknown key is a bad request. */
export async function resolveFeedback(
  items: readonly LabelItem[],
  lookup: (key: string) => Promise<ScoredTransaction | undefined>,
): Promise<Feedback[]> {
  const found = await Promise.all(items.map((item) => (item.kind === 'key' ? lookup(item.key) : undefined)));
  const issues: RequestIssue[] = [];
  const out: Feedback[] = [];
  items.forEach((item, i) => {
    if (item.kind === 'feedback') {
      out.push(item.feedback);
      return;
    }
    const r = found[i];
    if (!r) {
      issues.push({ field: item.field, reason: `no stored transaction ${JSON.stringify(item.key)}` });
      return;
    }
    const tx = r.transaction;
    out.push({
      transactionId: tx.id,
      cardId: tx.cardId,
      terminalId: tx.terminalId,
      transactionTimestampMs: tx.timestampMs,
      label: item.label,
      atMs: item.atMs,
    });
  });
  if (issues.length > 0) throw new BadRequestError(issues);
  return out;
}

function timeOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return /^-?\d+$/.test(v) ? Number(v) : parseUtcDateTime(v);
  return Number.NaN;
}

function joinField(prefix: string, field: string): string {
  if (!prefix) return field || 'body';
  if (!field || field === 'payload') return prefix;
  return `${prefix}.${field}`;
}

/** What `POST /api/score` answers per transaction. */
export function scoreResult(r: ScoredTransaction): Record<string, unknown> {
  return {
    key: r.key,
    id: r.transaction.id,
    decision: r.decision,
    fraudScore: r.fraudScore,
    classifier: { probability: r.classifierProbability, prediction: r.classifierProbability >= 0.5 ? 1 : 0 },
    anomaly: { score: r.anomalyScore, normalized: r.anomalyNormalized },
    reasons: r.reasons,
    modelVersion: r.modelVersion,
    features: r.features,
    timestamp: new Date(r.transaction.timestampMs).toISOString(),
    processedAtMs: r.processedAtMs,
  };
}
