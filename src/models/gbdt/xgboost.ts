import { ParseError } from '../../errors/index.js';
import type { TreeArrays } from './forest.js';

/** An XGBoost model reduced to what prediction and TreeSHAP need. */
export interface ParsedXGBoostModel {
  nFeatures: number;
  featureNames: string[] | undefined;
  baseMargin: number;
  trees: TreeArrays[];
}

/** Objectives whose margin is log-odds and whose `base_score` is a probability. */
const LOGISTIC_OBJECTIVES = ['binary:logistic', 'reg:logistic'] as const;

/**
 * Reads XGBoost's JSON model schema (1.x and 2.x) for a `gbtree` binary logistic model:
 * `learner.learner_model_param.base_score` as `"5E-1"` or `"[5E-1]"`, per tree `left_children`,
 * `right_children`, `split_indices`, `split_conditions` (the leaf value for leaves), `default_left`
 * (booleans or 0/1), `sum_hessian`. Margin = Σ leaves + logit(base_score). Nodes are renumbered
 * breadth-first from the root so that children always follow their parent and deleted nodes vanish.
 */
export function parseXGBoostModel(json: unknown): ParsedXGBoostModel {
  let root: unknown = json;
  if (typeof json === 'string') {
    try {
      root = JSON.parse(json);
    } catch (cause) {
      throw new ParseError('model', 'not valid JSON', { cause });
    }
  }
  const learner = record(record(root, 'model').learner, 'learner');
  const objective = record(learner.objective, 'learner.objective').name;
  if (!(LOGISTIC_OBJECTIVES as readonly unknown[]).includes(objective)) {
    throw new ParseError('learner.objective.name', `unsupported objective ${JSON.stringify(objective)}`);
  }
  const param = record(learner.learner_model_param, 'learner.learner_model_param');
  const numClass = Number(param.num_class ?? 0);
  if (numClass > 1)
    throw new ParseError('learner.learner_model_param.num_class', 'multiclass is not supported');
  const nFeatures = Number(param.num_feature);
  if (!Number.isInteger(nFeatures) || nFeatures < 1) {
    throw new ParseError(
      'learner.learner_model_param.num_feature',
      `invalid ${JSON.stringify(param.num_feature)}`,
    );
  }
  const baseScore = parseBaseScore(param.base_score);
  // XGBoost converts base_score to a margin in float32 arithmetic.
  const baseMargin = Math.fround(-Math.log(1 / baseScore - 1));

  const booster = record(learner.gradient_booster, 'learner.gradient_booster');
  if (booster.name !== 'gbtree') {
    throw new ParseError(
      'learner.gradient_booster.name',
      `unsupported booster ${JSON.stringify(booster.name)}`,
    );
  }
  const model = record(booster.model, 'learner.gradient_booster.model');
  if (!Array.isArray(model.trees))
    throw new ParseError('learner.gradient_booster.model.trees', 'expected an array');
  const trees = model.trees.map((tree, t) => parseTree(tree, `learner.gradient_booster.model.trees[${t}]`));

  const names = learner.feature_names;
  const featureNames =
    Array.isArray(names) && names.length === nFeatures && names.every((s) => typeof s === 'string')
      ? (names as string[])
      : undefined;
  return { nFeatures, featureNames, baseMargin, trees };
}

/** `base_score` is a float string, bracketed as a vector (`"[5E-1]"`) since XGBoost 2.0. */
function parseBaseScore(value: unknown): number {
  const field = 'learner.learner_model_param.base_score';
  if (typeof value !== 'string' && typeof value !== 'number') throw new ParseError(field, 'missing');
  let text = String(value).trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1).trim();
  if (text.includes(',')) throw new ParseError(field, 'multi-target base_score is not supported');
  const score = Math.fround(Number(text));
  if (!(score > 0 && score < 1))
    throw new ParseError(field, `expected a probability in (0, 1), got ${value}`);
  return score;
}

function parseTree(json: unknown, where: string): TreeArrays {
  const tree = record(json, where);
  const left = numbers(tree.left_children, `${where}.left_children`);
  const right = numbers(tree.right_children, `${where}.right_children`);
  const splitIndex = numbers(tree.split_indices, `${where}.split_indices`);
  const condition = numbers(tree.split_conditions, `${where}.split_conditions`);
  const defaultLeft = numbers(tree.default_left, `${where}.default_left`);
  const hessian = numbers(tree.sum_hessian, `${where}.sum_hessian`);
  const splitType =
    tree.split_type === undefined ? undefined : numbers(tree.split_type, `${where}.split_type`);
  const n = left.length;
  for (const [name, arr] of [
    ['right_children', right],
    ['split_indices', splitIndex],
    ['split_conditions', condition],
    ['default_left', defaultLeft],
    ['sum_hessian', hessian],
  ] as const) {
    if (arr.length !== n)
      throw new ParseError(`${where}.${name}`, `expected ${n} entries, got ${arr.length}`);
  }
  if (n === 0) throw new ParseError(where, 'empty tree');

  // Breadth-first renumbering from the root (old id -> new id).
  const order: number[] = [0];
  const newId = new Int32Array(n).fill(-1);
  newId[0] = 0;
  for (let k = 0; k < order.length; k++) {
    const old = order[k]!;
    if (left[old] === -1) continue;
    if (splitType && splitType[old] !== 0) {
      throw new ParseError(`${where}.split_type[${old}]`, 'categorical splits are not supported');
    }
    for (const child of [left[old]!, right[old]!]) {
      if (!Number.isInteger(child) || child < 0 || child >= n || newId[child] !== -1) {
        throw new ParseError(`${where}.children[${old}]`, `invalid or repeated child ${child}`);
      }
      newId[child] = order.length;
      order.push(child);
    }
  }
  const m = order.length;
  const out = {
    feature: new Int32Array(m),
    threshold: new Float32Array(m),
    left: new Int32Array(m),
    right: new Int32Array(m),
    defaultLeft: new Uint8Array(m),
    value: new Float64Array(m),
    cover: new Float64Array(m),
  };
  for (let k = 0; k < m; k++) {
    const old = order[k]!;
    out.cover[k] = hessian[old]!;
    if (left[old] === -1) {
      out.feature[k] = -1;
      out.left[k] = -1;
      out.right[k] = -1;
      // Leaf values are float32 in XGBoost; the JSON text is their shortest decimal form.
      out.value[k] = Math.fround(condition[old]!);
    } else {
      out.feature[k] = splitIndex[old]!;
      out.threshold[k] = condition[old]!;
      out.left[k] = newId[left[old]!]!;
      out.right[k] = newId[right[old]!]!;
      out.defaultLeft[k] = defaultLeft[old] ? 1 : 0;
    }
  }
  return out;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ParseError(field, 'expected an object');
  }
  return value as Record<string, unknown>;
}

/** An array of numbers; booleans (XGBoost 1.x `default_left`) become 0/1. */
function numbers(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new ParseError(field, 'expected an array');
  const out = new Array<number>(value.length);
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v === 'number') out[i] = v;
    else if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else throw new ParseError(`${field}[${i}]`, `expected a number, got ${JSON.stringify(v)}`);
  }
  return out;
}
