import type { Location } from './location';

/** The `_SUCCESS.json` written last when a volume's table is published. */
export interface Marker {
  volumeId: string;
  rows: number;
  okRows: number;
  errorRows: number;
  /** Distinct input keys among the rows. */
  inputs: number;
  /** `manifestSha256` over the rows' key + etag: matches the Prefetcher's manifest of the same listing. */
  inputManifestSha256: string;
  model: { name: string; sha256: string };
  configSha256: string;
  parquet: { key: string; bytes: number; etag: string };
  startedAt: string;
  finishedAt: string;
  libraryVersion: string;
}

/** Where a volume's table and marker live under the output location. */
export function outputKeys(volumeId: string): { parquet: string; marker: string } {
  return { parquet: `${volumeId}/part-00000.parquet`, marker: `${volumeId}/_SUCCESS.json` };
}

/** The volume's marker, or undefined when it has none (not published). Throws on a malformed one. */
export async function readMarker(output: Location, volumeId: string, signal?: AbortSignal): Promise<Marker | undefined> {
  const key = outputKeys(volumeId).marker;
  const text = await output.readText(key, { signal });
  if (text === undefined) return undefined;
  let marker: Marker;
  try {
    marker = JSON.parse(text) as Marker;
  } catch (err) {
    throw new Error(`${key} in ${output.url} is not valid JSON: ${(err as Error).message}`);
  }
  if (marker.volumeId !== volumeId || typeof marker.inputManifestSha256 !== 'string') throw new Error(`${key} in ${output.url} is not a marker of volume ${volumeId}`);
  return marker;
}

/**
 * The marker when the volume is already published from the same inputs, model and config (so a
 * rerun can skip it); undefined when it is not published or anything differs.
 */
export async function isPublished(
  output: Location,
  volumeId: string,
  expect: { inputManifestSha256: string; model: { name: string; sha256: string }; configSha256: string },
  signal?: AbortSignal,
): Promise<Marker | undefined> {
  const marker = await readMarker(output, volumeId, signal);
  const same =
    marker !== undefined &&
    marker.inputManifestSha256 === expect.inputManifestSha256 &&
    marker.model?.sha256 === expect.model.sha256 &&
    marker.model?.name === expect.model.name &&
    marker.configSha256 === expect.configSha256;
  return same ? marker : undefined;
}
