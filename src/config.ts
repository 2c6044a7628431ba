import { availableParallelism } from 'node:os';
import { IMAGES_SETTINGS, type ImagesSetting } from './correct/pageImage';
import { cudaLoads } from './infer/cudaProbe';

/**
 * The volume's own settings: where it is, where it goes, and its budgets. A process running many
 * volumes on one engine takes these from each volume (a fleet job sets them for its volume).
 */
export interface VolumeSettings {
  /** Where the volume's images are: `s3://bucket/prefix/` or a local directory. */
  input: string;
  /** Where the table is published: `s3://bucket/prefix/` or a local directory. */
  output: string;
  /** Staging area for attempts in progress; defaults to `<output>/_staging/` (see `openStaging`). */
  staging?: string;
  /** ListObjectsV2 page size. */
  listPageSize: number;
  /** Pages in memory at once, end to end (the ingress credit budget). */
  inflightPages: number;
  /** Concurrent GETs per volume. */
  prefetchConcurrency: number;
  /** Fetched-but-undecoded pages at most. */
  prefetchCapacity: number;
  /** Rows per Parquet row group. */
  rowGroupSize: number;
  /** Publish a volume with no page images (an empty table); refused by default. */
  allowEmpty: boolean;
  /** Pages corrected at full resolution at once, for the page images (each holds its original and 40–60 MB of pixels). */
  fullResPages: number;
}

/**
 * The settings that change a table's contents: they go into the marker's config hash
 * (`contentConfigSha256`), so a rerun with other values processes the volume again.
 */
export interface ContentSettings {
  /** File extensions (lower case, with dot) taken as images when listing. */
  imageExtensions: string[];
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
  /** |skew| at or above this is deskewed. */
  skewThresholdDeg: number;
  /** Median line curvature at or above this (analysis pixels) is dewarped. */
  curvatureThresholdPx: number;
  /** Confidence below which no correction is tried. */
  minConfidence: number;
  /** Passes through the model at most (1 = never correct). */
  maxPasses: number;
  /**
   * Publish each ok page's corrected full-resolution image beside the table
   * (`<volumeId>/pages/<attemptId>/`): `jpeg`, `png`, `webp`, `tiff`, or `same` (the input's
   * format); `off` (default): the table only.
   */
  images: ImagesSetting;
  /** JPEG / WebP quality of the page images, 1..100. */
  imageQuality: number;
}

/** The engine's own settings: thread pools, device, batching and the model. They change speed, not results. */
export interface EngineSettings {
  /** Decoder threads (sharp, piscina). */
  decodeWorkers: number;
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
   * (a tiny generated model, for tests) or the path of an ONNX model (see `modelAdapter`). Its
   * file's sha256 is recorded in the marker on its own.
   */
  model?: string;
  /** Transform threads (OpenCV). */
  transformWorkers: number;
}

/**
 * Everything a volume run can be tuned with, by who owns a setting: the engine (`EngineSettings`),
 * the table's contents (`ContentSettings`) and the volume (`VolumeSettings`). Every field has a
 * default (see `defaultConfig`); callers pass a partial object to `resolveConfig`.
 */
export interface PipelineConfig extends VolumeSettings, ContentSettings, EngineSettings {}

/** What an engine is started with: its own settings and the content settings its stages apply. */
export type EngineConfig = EngineSettings & ContentSettings;

const cores = availableParallelism();
/** Decoder threads by default: up to 4, leaving a core for the rest. */
const decodeDefault = Math.max(1, Math.min(4, cores - 1));

const volumeDefaults: Omit<VolumeSettings, 'input' | 'output'> = {
  listPageSize: 1000,
  inflightPages: 16,
  prefetchConcurrency: 8,
  prefetchCapacity: 8,
  rowGroupSize: 4096,
  allowEmpty: false,
  fullResPages: 2 * Math.max(1, cores),
};

const contentDefaults: ContentSettings = {
  imageExtensions: ['.jpg', '.jpeg', '.png', '.tif', '.tiff', '.webp'],
  analysisMaxSide: 992,
  maxInputPixels: 120_000_000,
  patchSize: 512,
  patchOverlap: 32,
  skewThresholdDeg: 0.3,
  curvatureThresholdPx: 2,
  minConfidence: 0.5,
  maxPasses: 2,
  images: 'off',
  imageQuality: 90,
};

const engineDefaults: EngineSettings = {
  decodeWorkers: decodeDefault,
  inferWorkers: Math.max(1, cores),
  batchesInFlight: 1,
  analysisWorkers: Math.max(1, cores),
  inferThreads: 1,
  device: 'cpu',
  // On the CPU a patch costs least alone (one thread, default model: 82 ms a patch at 1, 107 at 8)
  // and the session's arena grows with the batch (a volume's peak RSS 1.7 GB at 8, 0.78 at 1).
  batchSize: 1,
  batchMaxWaitMs: 5,
  batcherSlots: 8,
  reprocessWeight: 3,
  initialWeight: 1,
  transformWorkers: Math.max(1, Math.min(2, cores - 1)),
};

/** Every setting's default on the CPU (see `resolveConfig` for the device's). */
export const defaultConfig: Omit<PipelineConfig, 'input' | 'output'> = { ...volumeDefaults, ...contentDefaults, ...engineDefaults };

/**
 * Defaults that depend on the device, under the caller's settings. On the CPU (`defaultConfig`) a
 * thread per core runs the model and one per core analyses pages, sharing the cores (on 2 cores 2
 * analysis threads beat 1: bench/RESULTS.md, issue #21). On `cuda`, and on `auto` when the CUDA
 * provider loads (`cudaLoads`, probed once per process), one session feeds the GPU (batches of 32,
 * 2 in flight), the cores left beside decoding analyse pages, and more pages are in flight to keep
 * the batches full; `auto` without CUDA runs on the CPU, with the CPU's defaults.
 */
function dependentDefaults(partial: Partial<PipelineConfig>): Partial<PipelineConfig> {
  const device = partial.device ?? engineDefaults.device;
  if (device === 'cpu' || (device === 'auto' && !cudaLoads())) return {};
  const analysisWorkers = Math.max(1, cores - (partial.decodeWorkers ?? engineDefaults.decodeWorkers));
  return { analysisWorkers, inferWorkers: 1, batchesInFlight: 2, batchSize: 32, batcherSlots: 48, inflightPages: 128, transformWorkers: Math.max(1, Math.min(4, cores - 1)) };
}

/** How one setting is checked: an integer or number range, or one of a list. */
type Check =
  | { int: [min: number, max?: number] }
  | { num: [min: number, max?: number] }
  | { oneOf: readonly unknown[] }
  | { test: (value: unknown) => boolean; expects: string };

/** A check for every setting of a group (optional ones included). */
type Checks<T> = { [K in keyof T]-?: Check };

const int = (min: number, max?: number): Check => ({ int: [min, max] });
const num = (min: number, max?: number): Check => ({ num: [min, max] });
const text = { test: (v: unknown) => typeof v === 'string', expects: 'a string' };

const VOLUME_CHECKS: Checks<VolumeSettings> = {
  input: text,
  output: text,
  staging: { test: (v) => v === undefined || typeof v === 'string', expects: 'a string' },
  listPageSize: int(1, 1000),
  inflightPages: int(1),
  prefetchConcurrency: int(1),
  prefetchCapacity: int(1),
  rowGroupSize: int(1),
  allowEmpty: { oneOf: [true, false] },
  fullResPages: int(1),
};

/** In this order in the marker's config hash: keep it, or every published volume reads as changed. */
const CONTENT_CHECKS: Checks<ContentSettings> = {
  imageExtensions: { test: (v) => Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'string' && /^\.[a-z0-9]+$/.test(e)), expects: 'a non-empty list of lower-case extensions with a dot, like ".jpg"' },
  analysisMaxSide: int(64),
  maxInputPixels: int(1),
  patchSize: int(32),
  patchOverlap: int(0),
  skewThresholdDeg: num(0, 45),
  curvatureThresholdPx: num(0),
  minConfidence: num(0, 1),
  maxPasses: { oneOf: [1, 2] },
  images: { oneOf: IMAGES_SETTINGS },
  imageQuality: int(1, 100),
};

const ENGINE_CHECKS: Checks<EngineSettings> = {
  decodeWorkers: int(1),
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
};

/** The names of a group's settings. */
const keysOf = <T>(checks: Checks<T>) => Object.keys(checks) as Array<keyof T>;
/** The volume's settings (`VolumeSettings`). */
export const VOLUME_SETTINGS: ReadonlyArray<keyof VolumeSettings> = keysOf(VOLUME_CHECKS);
/** The settings that change a table's contents (`ContentSettings`), in the order they are hashed into the marker. */
export const CONTENT_SETTINGS: ReadonlyArray<keyof ContentSettings> = keysOf(CONTENT_CHECKS);
/** The engine's settings (`EngineSettings`). */
export const ENGINE_SETTINGS: ReadonlyArray<keyof EngineSettings> = keysOf(ENGINE_CHECKS);
const ALL_SETTINGS: ReadonlyArray<keyof PipelineConfig> = [...VOLUME_SETTINGS, ...CONTENT_SETTINGS, ...ENGINE_SETTINGS];

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

/** Throws one line naming the first setting of the group that fails its check. */
function checkGroup<T>(cfg: T, checks: Checks<T>): void {
  for (const [key, check] of Object.entries(checks) as Array<[keyof T & string, Check]>) {
    const expected = problem(cfg[key], check);
    if (expected) throw new Error(`config.${key} must be ${expected}, got ${JSON.stringify(cfg[key])}`);
  }
}

/** The content settings' checks, and the patch geometry they must agree on. */
function checkContent(cfg: ContentSettings): void {
  checkGroup(cfg, CONTENT_CHECKS);
  if (cfg.patchSize % 32 !== 0) throw new Error(`config.patchSize must be a multiple of 32 (the detector's stride), got ${cfg.patchSize}`);
  if (cfg.patchOverlap >= cfg.patchSize / 2) throw new Error(`config.patchOverlap must be less than half of patchSize (${cfg.patchSize}), got ${cfg.patchOverlap}`);
}

/** Throws one line naming the first key of `partial` that is not one of `allowed`. */
function refuseUnknown(partial: object, allowed: ReadonlyArray<string>, what: string): void {
  for (const key of Object.keys(partial)) {
    if (!allowed.includes(key)) throw new Error(`config.${key} is not ${what} (settings: ${allowed.join(', ')})`);
  }
}

/** `from`'s values of `keys` (those it has). */
export function pickSettings<T extends object, K extends keyof T>(from: T, keys: ReadonlyArray<K>): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((key) => from[key] !== undefined).map((key) => [key, from[key]])) as Partial<Pick<T, K>>;
}

/** The content settings `partial` names with another value than `cfg` has (a table made with one would not be the other's). */
export function contentDifferences(partial: Partial<ContentSettings>, cfg: ContentSettings): Array<keyof ContentSettings> {
  return CONTENT_SETTINGS.filter((key) => key in partial && JSON.stringify(partial[key]) !== JSON.stringify(cfg[key]));
}

/**
 * A partial config split by owner: the engine's (its own and the content settings) and the
 * volume's. A key that is not a setting is refused, as `resolveConfig` does.
 */
export function splitSettings(partial: Partial<PipelineConfig>): { engine: Partial<EngineConfig>; volume: Partial<VolumeSettings> } {
  refuseUnknown(partial, ALL_SETTINGS, 'a setting');
  return { engine: pickSettings(partial, [...CONTENT_SETTINGS, ...ENGINE_SETTINGS]), volume: pickSettings(partial, VOLUME_SETTINGS) };
}

/** The engine's and the content settings of `partial` over their defaults (the device's), checked. */
function engineConfigOf(partial: Partial<EngineConfig>): EngineConfig {
  const cfg: EngineConfig = { ...contentDefaults, ...engineDefaults, ...pickSettings(dependentDefaults(partial), ENGINE_SETTINGS), ...partial };
  checkContent(cfg);
  checkGroup(cfg, ENGINE_CHECKS);
  return cfg;
}

/**
 * A full config from a partial one. Every setting is checked, group by group; a bad value or an
 * unknown key throws one line naming the setting (`config.batchSize must be an integer >= 1, got 0`).
 */
export function resolveConfig(partial: Partial<PipelineConfig> & Pick<PipelineConfig, 'input' | 'output'>): PipelineConfig {
  const { engine, volume } = splitSettings(partial);
  const cfg: PipelineConfig = { ...volumeDefaults, ...pickSettings(dependentDefaults(partial), VOLUME_SETTINGS), ...(volume as Pick<VolumeSettings, 'input' | 'output'>), ...engineConfigOf(engine) };
  checkGroup(cfg, VOLUME_CHECKS);
  return cfg;
}

/**
 * An engine's config from a partial one: its own settings and the content settings, defaults
 * filled (the device's) and checked as `resolveConfig` does. A volume's setting (input, budgets)
 * is refused: it belongs to each volume the engine runs.
 */
export function resolveEngineConfig(partial: Partial<EngineConfig> = {}): EngineConfig {
  for (const key of Object.keys(partial)) {
    if ((VOLUME_SETTINGS as readonly string[]).includes(key)) throw new Error(`config.${key} is a volume's setting, not an engine's: give it to each volume`);
  }
  refuseUnknown(partial, [...CONTENT_SETTINGS, ...ENGINE_SETTINGS], 'a setting');
  return engineConfigOf(partial);
}

