/**
 * Declarative rules that can force a review or a decline whatever the models say, e.g.
 * `{"name":"big-web","field":"amount","op":">","value":5000,"action":"review"}`. Rules can only
 * raise a decision (approve → review → decline), never lower it, so a bad rule cannot hide fraud
 * the models caught.
 */
import { ConfigError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';

export const RULE_OPERATORS = ['>', '>=', '<', '<=', '==', '!=', 'in'] as const;
export type RuleOperator = (typeof RULE_OPERATORS)[number];
export const RULE_ACTIONS = ['review', 'decline'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

export interface Rule {
  /** Shown as the reason when the rule fires. */
  name: string;
  /**
   * What the rule looks at: a feature name of the bundle, a transaction field (`amount`,
   * `channel`, `cardId`, `terminalId`), or a score (`fraudScore`, `classifierProbability`,
   * `anomalyScore`, `anomalyNormalized`).
   */
  field: string;
  op: RuleOperator;
  /** A number or string; an array for `in`. */
  value: number | string | readonly (number | string)[];
  action: RuleAction;
}

/** What a rule can read about one transaction. */
export interface RuleInput {
  transaction: Transaction;
  features: (name: string) => number | undefined;
  scores: {
    fraudScore: number;
    classifierProbability: number;
    anomalyScore: number;
    anomalyNormalized: number;
  };
}

const TRANSACTION_FIELDS = ['amount', 'channel', 'cardId', 'terminalId'] as const;
const SCORE_FIELDS = ['fraudScore', 'classifierProbability', 'anomalyScore', 'anomalyNormalized'] as const;

/** Checks rules once, at load, against the feature names they may refer to. */
export function validateRules(rules: unknown, featureNames: readonly string[]): Rule[] {
  if (!Array.isArray(rules)) throw new ConfigError('rules must be a JSON array');
  return rules.map((r, i) => {
    const where = `rule ${i + 1}`;
    if (typeof r !== 'object' || r === null) throw new ConfigError(`${where}: must be an object`);
    const { name, field, op, value, action } = r as Record<string, unknown>;
    if (typeof name !== 'string' || name === '')
      throw new ConfigError(`${where}: name must be a non-empty string`);
    if (typeof field !== 'string') throw new ConfigError(`${where} (${name}): field must be a string`);
    const known =
      featureNames.includes(field) ||
      (TRANSACTION_FIELDS as readonly string[]).includes(field) ||
      (SCORE_FIELDS as readonly string[]).includes(field);
    if (!known) throw new ConfigError(`${where} (${name}): unknown field "${field}"`);
    if (!(RULE_OPERATORS as readonly unknown[]).includes(op)) {
      throw new ConfigError(`${where} (${name}): op must be one of ${RULE_OPERATORS.join(' ')}`);
    }
    if (!(RULE_ACTIONS as readonly unknown[]).includes(action)) {
      throw new ConfigError(`${where} (${name}): action must be review or decline`);
    }
    const scalar = (v: unknown): v is number | string => typeof v === 'number' || typeof v === 'string';
    if (op === 'in' ? !(Array.isArray(value) && value.every(scalar)) : !scalar(value)) {
      throw new ConfigError(
        `${where} (${name}): value must be ${op === 'in' ? 'an array of' : 'a'} number or string`,
      );
    }
    return { name, field, op, value, action } as Rule;
  });
}

function read(field: string, input: RuleInput): number | string | undefined {
  switch (field) {
    case 'amount':
      return input.transaction.amount;
    case 'channel':
      return input.transaction.channel;
    case 'cardId':
      return input.transaction.cardId;
    case 'terminalId':
      return input.transaction.terminalId;
    case 'fraudScore':
    case 'classifierProbability':
    case 'anomalyScore':
    case 'anomalyNormalized':
      return input.scores[field];
    default:
      return input.features(field);
  }
}

/** True when the rule's condition holds. A missing value never matches. */
export function ruleMatches(rule: Rule, input: RuleInput): boolean {
  const actual = read(rule.field, input);
  if (actual === undefined || (typeof actual === 'number' && Number.isNaN(actual))) return false;
  const expected = rule.value;
  switch (rule.op) {
    case 'in':
      return (expected as readonly (number | string)[]).includes(actual);
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '>':
      return actual > (expected as number | string);
    case '>=':
      return actual >= (expected as number | string);
    case '<':
      return actual < (expected as number | string);
    case '<=':
      return actual <= (expected as number | string);
  }
}
