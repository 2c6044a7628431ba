import { availableParallelism } from 'node:os';

/**
 * Everything a volume run can be tuned with. Every field has a default (see `defaultConfig`);
 * callers pass a partial object to `resolveConfig`.
 */
export interface PipelineConfig {
  /** Where the volume's images are: `s3://bucket/prefix/` or a local directory. */
  input: string;
  /** Where the table is published: `s3://bucket/prefix/` or a local directory. */
  output: string;
  /** Staging area for attempts in progress; defaults to `<output>/_staging/`. */
  staging?: string;
  /** File extensions (lower case, with dot) taken as images when listing. */
  imageExtensions: string[];
  /** ListObjectsV2 page size. */
  listPageSize: number;

  /** Pages in memory at once, end to end (the ingress credit budget). */
  inflightPages: number;
  /** Concurrent GETs per volume. */
  prefetchConcurrency: number;
  /** Fetched-but-undecoded pages at most. */
  prefetchCapacity: number;
  /** Concurrent S3 requests per process, shared by all volumes. */
  s3MaxInflightGlobal: number;
  /** Retries for retryable S3 errors (5xx, throttling, resets). */
  s3MaxRetries: number;
  s3RetryBaseMs: number;

  /** Decoder threads (sharp, piscina). */
  decodeWorkers: number;
  /**
   * Longest side of the frame the model analyses. The default, 992 = 2 × patchSize − patchOverlap,
   * is the longest side two patches cover: an A4 page tiles into 2 × 2 patches (at 1024 it took
   * 2 × 3, half again the model's work for 3% more resolution).
   */
  analysisMaxSide: number;
  /** Images with more input pixels than this are rejected (pixel-bomb guard). */
  maxInputPixels: number;
  /** Patch size and overlap the frame is tiled into. */
  patchSize: number;
  patchOverlap: number;

  /** Inference threads (one ONNX session each). */
  inferWorkers: number;
  /** Intra-op threads per session. */
  inferThreads: number;
  /** Execution provider: `cpu`, `cuda` (strict) or `auto` (cuda when it loads, else cpu). */
  device: 'cpu' | 'cuda' | 'auto';
  /** Patches per `session.run`, and how long a partial batch may wait. */
  batchSize: number;
  batchMaxWaitMs: number;
  /** Frames admitted to the batcher at once (slots of the weighted merge). */
  batcherSlots: number;
  /** Lane weights of the weighted merge. */
  reprocessWeight: number;
  initialWeight: number;
  /** Path of an ONNX model, or undefined for the default PP-OCRv4 text detector. */
  model?: string;

  /** Transform threads (OpenCV). */
  transformWorkers: number;
  /** |skew| at or above this is deskewed. */
  skewThresholdDeg: number;
  /** Median line curvature at or above this (analysis pixels) is dewarped. */
  curvatureThresholdPx: number;
  /** Confidence below which no correction is tried. */
  minConfidence: number;
  /** Passes through the model at most (1 = never correct). */
  maxPasses: number;

  /** Rows per Parquet row group. */
  rowGroupSize: number;
}

const cores = availableParallelism();

export const defaultConfig: Omit<PipelineConfig, 'input' | 'output'> = {
  imageExtensions: ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'],
  listPageSize: 1000,
  inflightPages: 16,
  prefetchConcurrency: 8,
  prefetchCapacity: 8,
  s3MaxInflightGlobal: 64,
  s3MaxRetries: 5,
  s3RetryBaseMs: 100,
  decodeWorkers: Math.max(1, Math.min(4, cores - 1)),
  analysisMaxSide: 992,
  maxInputPixels: 120_000_000,
  patchSize: 512,
  patchOverlap: 32,
  inferWorkers: Math.max(1, cores),
  inferThreads: 1,
  device: 'cpu',
  batchSize: 8,
  batchMaxWaitMs: 5,
  batcherSlots: 8,
  reprocessWeight: 3,
  initialWeight: 1,
  transformWorkers: Math.max(1, Math.min(2, cores - 1)),
  skewThresholdDeg: 0.3,
  curvatureThresholdPx: 2,
  minConfidence: 0.5,
  maxPasses: 2,
  rowGroupSize: 4096,
};

/** A full config from a partial one; throws a one-line message on a bad value. */
export function resolveConfig(partial: Partial<PipelineConfig> & Pick<PipelineConfig, 'input' | 'output'>): PipelineConfig {
  const cfg: PipelineConfig = { ...defaultConfig, ...partial };
  const positive: Array<keyof PipelineConfig> = [
    'listPageSize', 'inflightPages', 'prefetchConcurrency', 'prefetchCapacity', 's3MaxInflightGlobal',
    'decodeWorkers', 'analysisMaxSide', 'patchSize', 'inferWorkers', 'inferThreads', 'batchSize',
    'batcherSlots', 'reprocessWeight', 'initialWeight', 'transformWorkers', 'maxPasses', 'rowGroupSize',
  ];
  for (const key of positive) {
    const v = cfg[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`config.${key} must be a positive integer, got ${String(v)}`);
  }
  if (cfg.patchOverlap < 0 || cfg.patchOverlap >= cfg.patchSize) throw new Error('config.patchOverlap must be in [0, patchSize)');
  if (!['cpu', 'cuda', 'auto'].includes(cfg.device)) throw new Error(`config.device must be cpu, cuda or auto, got ${cfg.device}`);
  return cfg;
}
