import type { Location } from './location';
import { InputMissingError } from './errors';

/**
 * The version of the analysis (decoding, model contract, summaries, corrections, row contents).
 * Bump it whenever the same inputs, models and settings can give a different table: a rerun then
 * re-processes volumes published by older code instead of skipping them.
 */
export const ANALYSIS_VERSION = 10;

/** What makes a volume's table what it is; a rerun skips the volume only when all of it matches. */
export interface MarkerIdentity {
  /** `manifestSha256` over the inputs' key + etag. */
  inputManifestSha256: string;
  /** The detector (`name`, file sha256). */
  model: { name: string; sha256: string };
  /** sha256 of every model file the analysis reads (detector and e.g. the direction classifier), by role. */
  modelFiles: Record<string, string>;
  /** sha256 of the content settings (`CONTENT_SETTINGS`). */
  configSha256: string;
  analysisVersion: number;
}

/** The `_SUCCESS.json` written last when a volume's table is published; its `parquet.key` names the table. */
export interface Marker extends MarkerIdentity {
  volumeId: string;
  rows: number;
  okRows: number;
  errorRows: number;
  /** Distinct input keys among the rows. */
  inputs: number;
  /** The table of this attempt (`<volumeId>/part-00000-<attemptId>.parquet`), its size and ETag as written. */
  parquet: { key: string; bytes: number; etag: string };
  /**
   * The corrected page images of this attempt, when the run published them (`images` setting):
   * the prefix they are under (`<volumeId>/pages/<attemptId>/`, every ok row's `image_key` is in
   * it), their count (= `okRows`) and format. Absent when the run published no images.
   */
  images?: MarkerImages;
  /**
   * Rows whose correction was applied (`rotate`, `tps`: the `transform` column) and rows whose
   * correction the second pass rejected (`rejected_transform` set). Absent in markers written before it.
   */
  corrections?: { rotate: number; tps: number; rejected: number };
  /** The input location the volume was read from. */
  input: string;
  attemptId: string;
  startedAt: string;
  finishedAt: string;
  libraryVersion: string;
}

/** The page images a marker names. */
export interface MarkerImages {
  prefix: string;
  count: number;
  format: string;
}

/**
 * Volume ids: one path segment of letters, digits, `.`, `_` and `-`, starting with a letter or a
 * digit, at most 128 characters. So `.`, `..`, `_staging` and hidden names are not ids.
 */
export const VOLUME_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `volumeId` matches `VOLUME_ID_PATTERN`. */
export function checkVolumeId(volumeId: string): void {
  if (!VOLUME_ID_PATTERN.test(volumeId)) {
    throw new Error(`volume id "${volumeId}" is not allowed: use 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
}

/** Where a volume's marker, an attempt's table and an attempt's page images (a prefix) live under the output location. */
export function outputKeys(volumeId: string, attemptId = ''): { parquet: string; marker: string; pages: string } {
  checkVolumeId(volumeId);
  return { parquet: `${volumeId}/part-00000-${attemptId}.parquet`, marker: `${volumeId}/_SUCCESS.json`, pages: `${volumeId}/pages/${attemptId}/` };
}

/**
 * The attempt a key of the volume's output belongs to: its table (`<volumeId>/part-00000-<id>.parquet`)
 * or one of its page images (`<volumeId>/pages/<id>/…`); undefined for any other key (the marker).
 */
export function attemptOfKey(volumeId: string, key: string): string | undefined {
  if (!key.startsWith(`${volumeId}/`)) return undefined;
  const rest = key.slice(volumeId.length + 1);
  return (/^part-00000-([^/]+)\.parquet$/.exec(rest) ?? /^pages\/([^/]+)\/./.exec(rest))?.[1];
}

/** When an attempt started, from its generated id (`<ms since 1970, base 36>-<random hex>`); undefined for ids given by the caller. */
export function attemptStartMs(attemptId: string): number | undefined {
  const m = /^([0-9a-z]{6,11})-[0-9a-f]{12}$/.exec(attemptId);
  return m ? parseInt(m[1], 36) : undefined;
}

/** The volume's marker and its ETag, or undefined when it has none (not published). Throws on a malformed one. */
export async function readMarkerEntry(output: Location, volumeId: string, signal?: AbortSignal): Promise<{ marker: Marker; etag: string } | undefined> {
  const key = outputKeys(volumeId).marker;
  const read = await output.readText(key, { signal });
  if (read === undefined) return undefined;
  let marker: Marker;
  try {
    marker = JSON.parse(read.text) as Marker;
  } catch (err) {
    throw new Error(`${key} in ${output.url} is not valid JSON: ${(err as Error).message}`);
  }
  if (marker.volumeId !== volumeId || typeof marker.inputManifestSha256 !== 'string' || typeof marker.parquet?.key !== 'string') {
    throw new Error(`${key} in ${output.url} is not a marker of volume ${volumeId}`);
  }
  return { marker, etag: read.etag };
}

/** The volume's marker, or undefined when it has none. */
export async function readMarker(output: Location, volumeId: string, signal?: AbortSignal): Promise<Marker | undefined> {
  return (await readMarkerEntry(output, volumeId, signal))?.marker;
}

/** Whether the table a marker names is there with the size and ETag it records. */
export async function tableIntact(output: Location, marker: Marker, signal?: AbortSignal): Promise<boolean> {
  const head = await output.head(marker.parquet.key, { signal });
  return head !== undefined && head.bytes === marker.parquet.bytes && head.etag === marker.parquet.etag;
}

/** The keys under `prefix` of `output` (keys relative to `output`). */
export async function keysUnder(output: Location, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const page of output.child(prefix).list({ pageSize: 1000, signal })) keys.push(...page.filter((e) => !e.error).map((e) => `${prefix}${e.key}`));
  } catch (err) {
    // A folder that is not there holds no keys, as an S3 prefix with no objects lists none.
    if (!(err instanceof InputMissingError)) throw err;
  }
  return keys;
}

/** Whether the page images a marker names are there: as many objects under its prefix as it records (true when it names none). */
export async function imagesIntact(output: Location, marker: Marker, signal?: AbortSignal): Promise<boolean> {
  if (!marker.images) return true;
  const listed = await keysUnder(output, marker.images.prefix, signal).catch(() => []);
  return listed.length === marker.images.count;
}

/**
 * The marker when the volume is already published with the same identity (inputs, every model
 * file, content settings — the images setting included —, analysis version) and the table and
 * page images it names are there as written; undefined when it is not published, anything
 * differs, or the table or an image is missing or changed.
 */
export async function isPublished(output: Location, volumeId: string, expect: MarkerIdentity, signal?: AbortSignal): Promise<Marker | undefined> {
  const marker = await readMarker(output, volumeId, signal);
  if (marker === undefined || !sameIdentity(marker, expect)) return undefined;
  return (await tableIntact(output, marker, signal)) && (await imagesIntact(output, marker, signal)) ? marker : undefined;
}

function sameIdentity(marker: Marker, expect: MarkerIdentity): boolean {
  return (
    marker.inputManifestSha256 === expect.inputManifestSha256 &&
    marker.model?.name === expect.model.name &&
    marker.model?.sha256 === expect.model.sha256 &&
    JSON.stringify(sortedEntries(marker.modelFiles ?? {})) === JSON.stringify(sortedEntries(expect.modelFiles)) &&
    marker.configSha256 === expect.configSha256 &&
    marker.analysisVersion === expect.analysisVersion
  );
}

function sortedEntries(files: Record<string, string>): Array<[string, string]> {
  return Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
