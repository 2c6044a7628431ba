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
  /** Staging area for attempts in progress; defaults to `<output>/_staging/` (see `stagingUrl`). */
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

  /** Inference threads (one ONNX session each; they run the model and nothing else). */
  inferWorkers: number;
  /**
   * Batches handed to each inference thread at once. Above 1 the next batch is packed and sent
   * while one runs, so the copies overlap the model (on a GPU); on the CPU 1 lets batches fill up.
   */
  batchesInFlight: number;
  /** Analysis threads: stitch a page's maps and summarise it (text lines, skew, direction classifier). */
  analysisWorkers: number;
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
  /**
   * The model when no adapter is given: undefined or `default` (PP-OCRv4 text detector), `tiny`
   * (a tiny generated model, for tests) or the path of an ONNX model (see `modelAdapter`).
   */
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
  /** Publish a volume with no page images (an empty table); refused by default. */
  allowEmpty: boolean;
}

const cores = availableParallelism();
/** Decoder threads by default: up to 4, leaving a core for the rest. */
const decodeDefault = Math.max(1, Math.min(4, cores - 1));

export const defaultConfig: Omit<PipelineConfig, 'input' | 'output'> = {
  imageExtensions: ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'],
  listPageSize: 1000,
  inflightPages: 16,
  prefetchConcurrency: 8,
  prefetchCapacity: 8,
  decodeWorkers: decodeDefault,
  analysisMaxSide: 992,
  maxInputPixels: 120_000_000,
  patchSize: 512,
  patchOverlap: 32,
  inferWorkers: Math.max(1, cores),
  batchesInFlight: 1,
  analysisWorkers: Math.max(1, cores),
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
  allowEmpty: false,
};

/**
 * Defaults that depend on the device, under the caller's settings. On the CPU (`defaultConfig`) a
 * thread per core runs the model and one per core analyses pages, sharing the cores (on 2 cores 2
 * analysis threads beat 1: bench/RESULTS.md, issue #21). On `cuda` / `auto` one session feeds the GPU
 * (batches of 32, 2 in flight), the cores left beside decoding analyse pages, and more pages are in
 * flight to keep the batches full.
 */
function dependentDefaults(partial: Partial<PipelineConfig>): Partial<PipelineConfig> {
  if ((partial.device ?? defaultConfig.device) === 'cpu') return {};
  const analysisWorkers = Math.max(1, cores - (partial.decodeWorkers ?? defaultConfig.decodeWorkers));
  return { analysisWorkers, inferWorkers: 1, batchesInFlight: 2, batchSize: 32, batcherSlots: 48, inflightPages: 128, transformWorkers: Math.max(1, Math.min(4, cores - 1)) };
}

/** How one setting is checked: an integer or number range, or one of a list. */
type Check =
  | { int: [min: number, max?: number] }
  | { num: [min: number, max?: number] }
  | { oneOf: readonly unknown[] }
  | { test: (value: unknown) => boolean; expects: string };

const int = (min: number, max?: number): Check => ({ int: [min, max] });
const num = (min: number, max?: number): Check => ({ num: [min, max] });
const text = { test: (v: unknown) => typeof v === 'string', expects: 'a string' };

/** Every setting's check; `resolveConfig` refuses a key that is not here. */
const CHECKS: Record<keyof PipelineConfig, Check> = {
  input: text,
  output: text,
  staging: { test: (v) => v === undefined || typeof v === 'string', expects: 'a string' },
  imageExtensions: { test: (v) => Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'string' && /^\.[a-z0-9]+$/.test(e)), expects: 'a non-empty list of lower-case extensions with a dot, like ".jpg"' },
  listPageSize: int(1, 1000),
  inflightPages: int(1),
  prefetchConcurrency: int(1),
  prefetchCapacity: int(1),
  decodeWorkers: int(1),
  analysisMaxSide: int(64),
  maxInputPixels: int(1),
  patchSize: int(32),
  patchOverlap: int(0),
  inferWorkers: int(1),
  batchesInFlight: int(1),
  analysisWorkers: int(1),
  inferThreads: int(1),
  device: { oneOf: ['cpu', 'cuda', 'auto'] },
  batchSize: int(1),
  batchMaxWaitMs: num(0),
  batcherSlots: int(1),
  reprocessWeight: int(1),
  initialWeight: int(1),
  model: { test: (v) => v === undefined || (typeof v === 'string' && v !== ''), expects: '"tiny" or the path of an .onnx file' },
  transformWorkers: int(1),
  skewThresholdDeg: num(0, 45),
  curvatureThresholdPx: num(0),
  minConfidence: num(0, 1),
  maxPasses: { oneOf: [1, 2] },
  rowGroupSize: int(1),
  allowEmpty: { oneOf: [true, false] },
};

/** Why `value` fails `check`, or undefined when it passes. */
function problem(value: unknown, check: Check): string | undefined {
  if ('oneOf' in check) return check.oneOf.includes(value) ? undefined : `one of ${check.oneOf.join(', ')}`;
  if ('test' in check) return check.test(value) ? undefined : check.expects;
  const [min, max] = 'int' in check ? check.int : check.num;
  const kind = 'int' in check ? 'an integer' : 'a number';
  const range = max === undefined ? `>= ${min}` : `in [${min}, ${max}]`;
  const ok = typeof value === 'number' && Number.isFinite(value) && ('int' in check ? Number.isInteger(value) : true) && value >= min && (max === undefined || value <= max);
  return ok ? undefined : `${kind} ${range}`;
}

/**
 * A full config from a partial one. Every setting is checked; a bad value or an unknown key throws
 * one line naming the setting (`config.batchSize must be an integer >= 1, got 0`).
 */
export function resolveConfig(partial: Partial<PipelineConfig> & Pick<PipelineConfig, 'input' | 'output'>): PipelineConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in CHECKS)) throw new Error(`config.${key} is not a setting (settings: ${Object.keys(CHECKS).join(', ')})`);
  }
  const cfg: PipelineConfig = { ...defaultConfig, ...dependentDefaults(partial), ...partial };
  for (const [key, check] of Object.entries(CHECKS) as Array<[keyof PipelineConfig, Check]>) {
    const expected = problem(cfg[key], check);
    if (expected) throw new Error(`config.${key} must be ${expected}, got ${JSON.stringify(cfg[key])}`);
  }
  if (cfg.patchSize % 32 !== 0) throw new Error(`config.patchSize must be a multiple of 32 (the detector's stride), got ${cfg.patchSize}`);
  if (cfg.patchOverlap >= cfg.patchSize / 2) throw new Error(`config.patchOverlap must be less than half of patchSize (${cfg.patchSize}), got ${cfg.patchOverlap}`);
  return cfg;
}

/**
 * Where a volume's attempts stage their files: `cfg.staging`, else `<output>/_staging/`. The one
 * rule for the writer and the fleet's staging sweep (which must look where the writer wrote).
 */
export function stagingUrl(cfg: Pick<PipelineConfig, 'output' | 'staging'>): string {
  return cfg.staging ?? `${cfg.output.replace(/\/?$/, '/')}_staging/`;
}
