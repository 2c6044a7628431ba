import type { VolumeResult } from '../worker';

/** The object `--json` prints as the last line of stdout. */
export interface JsonSummary {
  volumeId: string;
  pages: number;
  ok: number;
  errors: number;
  /** True when the volume was already published from the same inputs, model and config. */
  skipped: boolean;
  transformed: { rotate: number; tps: number };
  /** Where the table and the marker are. */
  parquet: string;
  marker: string;
  /** Where the page images are (`--images`). */
  images?: string;
  seconds: number;
  pagesPerSecond: number;
  /** The HTML report, when one was written. */
  report?: string;
  /** Why the asked-for report could not be written (the table is published all the same). */
  reportError?: string;
}

/** The `--json` object of a result, with the report written (or why not) from `where`. */
export function jsonSummary(result: VolumeResult, where: { report?: string; reportError?: string } = {}): JsonSummary {
  return {
    volumeId: result.volumeId,
    pages: result.pages,
    ok: result.ok,
    errors: result.errors,
    skipped: result.status === 'skipped',
    transformed: result.transformed,
    parquet: result.parquet,
    marker: result.markerUrl,
    ...(result.images ? { images: result.images } : {}),
    seconds: round(result.seconds, 3),
    pagesPerSecond: round(result.pagesPerSecond, 3),
    ...(where.report ? { report: where.report } : {}),
    ...(where.reportError ? { reportError: where.reportError } : {}),
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The summary as label → value rows (for the terminal and the report's header). */
export function summaryRows(s: JsonSummary, model: string): Array<[string, string]> {
  return [
    ['volume', s.volumeId],
    ['status', s.skipped ? 'skipped (already published from the same inputs, model and config)' : 'published'],
    ['pages', `${s.pages} (${s.ok} ok, ${s.errors} error${s.errors === 1 ? '' : 's'})`],
    ['corrected', `${s.transformed.rotate} rotated, ${s.transformed.tps} dewarped`],
    ['model', model],
    ['parquet', s.parquet],
    ['marker', s.marker],
    ...(s.images ? ([['images', s.images]] as Array<[string, string]>) : []),
    ...(s.report ? ([['report', s.report]] as Array<[string, string]>) : []),
    ['time', `${s.seconds.toFixed(1)} s${s.skipped ? '' : ` (${s.pagesPerSecond.toFixed(2)} pages/s)`}`],
  ];
}

/** Rows as aligned `label  value` lines. */
export function formatRows(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
