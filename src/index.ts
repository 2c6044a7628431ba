/** rxvolume: everything — the generic operators plus the volume pipeline's domain parts. */
export * from '../operators';
export * from './types';
export * from './config';
export { S3Context, type S3ContextOptions } from './s3/context';
export { startLocalS3Server, s3ClientConfigFor } from './s3/localS3Server';
export { openLocation, type Location } from './store';
export { Prefetcher, manifestSha256 } from './stages/prefetcher';
export { Decoder } from './stages/decoder';
export { GpuBatcher, type BatcherStats } from './stages/gpuBatcher';
export { Transformer } from './stages/transformer';
export { TransformController, planFor, confirms, tiltDeg, recordOf, type PageResult } from './stages/transformController';
export { S3ParquetWriter, writeParquet, isPublished, type Marker, type PublishInfo, type PublishResult } from './stages/parquetWriter';
export { defaultAdapter, tinyAdapter, customAdapter, type ModelAdapter } from './model/adapter';
export { renderSyntheticPage, type PageSpec } from './synth/pages';
export { VolumeEngine } from './engine';
export { volumeRecords, VolumeStats, type VolumeStatsSnapshot, type VolumeRecordsOptions } from './volumePipeline';
export { VolumeWorker, type VolumeWorkerOptions, type VolumeResult } from './worker';
