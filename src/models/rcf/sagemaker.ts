/** Body of a SageMaker built-in RCF endpoint's response (`application/json`). */
export interface SageMakerRcfResponse {
  readonly scores: { score: number }[];
}

/**
 * Wraps scores in the response format of SageMaker's built-in Random Cut Forest endpoint,
 * `{"scores":[{"score":1.23},…]}`, one entry per input record in order, so clients written for
 * the reference lab's `random-cut-forest-endpoint` can read fraudstream's scores unchanged.
 */
export function toSageMakerResponse(scores: ArrayLike<number>): SageMakerRcfResponse {
  const out: { score: number }[] = new Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = { score: scores[i]! };
  return { scores: out };
}
