/**
 * Streaming Random Cut Forest anomaly detection (Guha et al. 2016, AWS random-cut-forest-by-aws):
 * time-decayed sampling, AWS anomaly score, per-dimension attribution, exact save/restore, and
 * the SageMaker RCF response format. Pure numeric code: no I/O, deterministic by seed. The
 * per-point work runs in a WebAssembly SIMD kernel (assembly/kernel.ts, compiled into
 * kernel-binary.ts by `npm run build:kernel`); each forest owns its memory.
 */
export type { DiVector } from './forest.js';
export { RandomCutForest } from './forest.js';
export type { RcfOptions, ResolvedRcfOptions } from './options.js';
export {
  DEFAULT_RCF_OPTIONS,
  DEFAULT_RCF_OUTPUT_AFTER_FRACTION,
  DEFAULT_RCF_TIME_DECAY_COEFFICIENT,
  resolveRcfOptions,
} from './options.js';
export type { SageMakerRcfResponse } from './sagemaker.js';
export { toSageMakerResponse } from './sagemaker.js';
export type { RcfSamplerJson, RcfStateJson, RcfTreeJson } from './state.js';
export { RCF_STATE_FORMAT, RCF_STATE_VERSION } from './state.js';
