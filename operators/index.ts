/**
 * Generic RxJS operators for bounded, weighted, feedback pipelines. They know nothing of S3,
 * images or ONNX. See README.md ("Backpressure") for how credits bound memory.
 */
export { Credits, type AbortSignalLike, type CreditsOptions, type StallWatch } from './credits';
export { StageStats, type StageSnapshot } from './stageStats';
export { pullWithCredits, type PullWithCreditsConfig } from './pullWithCredits';
export { acquireCredit, type AcquireCreditConfig } from './acquireCredit';
export { releaseCredit, type ReleaseCreditConfig } from './releaseCredit';
export { weightedMerge, type Lane, type WeightedMergeConfig } from './weightedMerge';
export { microBatch, type MicroBatchConfig } from './microBatch';
export { feedbackLoop, exitLoop, reenterLoop, type LoopStep, type FeedbackLoopConfig } from './feedbackLoop';
export { bypass } from './bypass';
export { poolMap, type TaskRunner, type PoolMapConfig } from './poolMap';
export { piscinaRunner, drainPool, poolCapacity, type PiscinaPool, type PiscinaRunnerOptions, type TransferItem } from './piscinaRunner';
