/**
 * SageMaker compatibility: both sides of the SageMaker inference contract. A client
 * ({@link SageMakerEndpointModel}, AWS SDK `InvokeEndpoint`) that lets the scorer call remote
 * endpoints in place of its in-process models, and a server ({@link startModelServer}, behind
 * `fraudstream serve-model`) that serves a bundle's classifier or forest as a SageMaker
 * container does. Both read and write the bodies defined in `codec.ts`.
 */
export type { DecodedRows } from './codec.js';
export { decodeCsvRows, decodeJsonRows, decodeScores, encodeCsvRows, encodeCsvScores } from './codec.js';
export type {
  RemoteEndpointsOptions,
  ResolvedSageMakerEndpointOptions,
  SageMakerEndpointOptions,
  SageMakerStaticCredentials,
} from './endpoint.js';
export {
  createRemoteModels,
  DEFAULT_SAGEMAKER_ENDPOINT_OPTIONS,
  resolveSageMakerEndpointOptions,
  SageMakerEndpointModel,
} from './endpoint.js';
export type { ModelServerHandle, ModelServerOptions, ResolvedModelServerOptions } from './model-server.js';
export {
  buildModelServer,
  DEFAULT_MODEL_SERVER_OPTIONS,
  resolveModelServerOptions,
  startModelServer,
} from './model-server.js';
