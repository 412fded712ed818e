/**
 * Models that run outside the process — SageMaker endpoints, or `fraudstream serve-model` — in
 * place of the bundle's in-process classifier or forest. The scorer only declares what it needs;
 * `src/sagemaker/` implements it with the AWS SDK.
 */

/** The two models a bundle holds. */
export const MODEL_KINDS = ['classifier', 'anomaly'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/**
 * What the scorer does with a batch when a remote model fails (error, timeout, bad answer):
 * - `local`: that model's output for the batch comes from the bundle's in-process model (the
 *   forest scores without learning, as an endpoint does), and every record of the batch gets the
 *   reason `endpoint-unavailable:<model>`;
 * - `retry`: the batch fails with `RemoteModelError`; the consumer holds it and retries with
 *   back-off as it does for a store failure, and the Lambda handler reports it in
 *   `batchItemFailures` — records wait, and nothing is decided without the endpoint.
 */
export const ENDPOINT_FALLBACKS = ['local', 'retry'] as const;
export type EndpointFallback = (typeof ENDPOINT_FALLBACKS)[number];

/** One remote model. */
export interface RemoteModel {
  /** For logs and errors: the endpoint name, never a secret. */
  readonly name: string;
  /**
   * Outputs for `n` rows of raw features (row-major, `n × nFeatures`, the bundle's feature order,
   * NaN = missing): probabilities for the classifier, raw anomaly scores for the forest.
   * Reads `features` before its first await, so the caller may reuse the buffer afterwards.
   * Rejects with `RemoteModelError`.
   */
  score(features: Float64Array | Float32Array, n: number, nFeatures: number): Promise<Float64Array>;
}

/** The remote models a scorer uses; a model left out runs in-process. */
export interface RemoteModels {
  classifier?: RemoteModel;
  anomaly?: RemoteModel;
}
