import type { VolumeRecord } from '../types';
import type { Figure } from './thumbnails';

/** Escapes text for HTML and SVG (content and attribute values). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/** A thumbnail as an inline SVG: the image with its text lines drawn over it. */
export function figureSvg(figure: Figure, label: string): string {
  const lines = figure.lines.map((pts) => `<polyline class="line" points="${pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}"/>`).join('');
  return (
    `<svg class="thumb" role="img" aria-label="${escapeHtml(label)}" width="${figure.width}" height="${figure.height}" viewBox="0 0 ${figure.width} ${figure.height}">` +
    `<image href="${figure.src}" width="${figure.width}" height="${figure.height}"/>${lines}</svg>`
  );
}

/**
 * Skew per page across the volume as an inline SVG line plot: the measured skew (first pass) and
 * the residual tilt after correction, by page number. Error rows leave gaps.
 */
export function skewPlotSvg(records: readonly VolumeRecord[], size = { width: 900, height: 220 }): string {
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  const { width, height } = size;
  const values = records.flatMap((r) => [r.skew_deg, r.residual_skew_deg]).filter((v): v is number => v !== null);
  const extent = Math.max(1, ...values.map(Math.abs));
  const maxSeq = Math.max(1, ...records.map((r) => r.seq));
  const x = (seq: number) => pad.left + (seq / maxSeq) * (width - pad.left - pad.right);
  const y = (deg: number) => pad.top + ((extent - deg) / (2 * extent)) * (height - pad.top - pad.bottom);
  const series = (pick: (r: VolumeRecord) => number | null, cls: string) => {
    const pts = records.filter((r) => pick(r) !== null).map((r) => [x(r.seq), y(pick(r) as number)]);
    const dots = pts.map(([px, py]) => `<circle class="${cls}" cx="${fmt(px)}" cy="${fmt(py)}" r="3"/>`).join('');
    return `<polyline class="${cls}" points="${pts.map(([px, py]) => `${fmt(px)},${fmt(py)}`).join(' ')}"/>${dots}`;
  };
  const axis =
    `<line class="axis" x1="${pad.left}" y1="${fmt(y(0))}" x2="${width - pad.right}" y2="${fmt(y(0))}"/>` +
    `<line class="axis" x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}"/>` +
    `<text x="${pad.left - 6}" y="${fmt(y(extent) + 4)}" text-anchor="end">${fmt(extent)}°</text>` +
    `<text x="${pad.left - 6}" y="${fmt(y(0) + 4)}" text-anchor="end">0°</text>` +
    `<text x="${pad.left - 6}" y="${fmt(y(-extent) + 4)}" text-anchor="end">−${fmt(extent)}°</text>` +
    `<text x="${pad.left}" y="${height - 8}">page 0</text>` +
    `<text x="${width - pad.right}" y="${height - 8}" text-anchor="end">page ${maxSeq}</text>`;
  return (
    `<svg class="plot" role="img" aria-label="skew per page" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `${axis}${series((r) => r.skew_deg, 'skew')}${series((r) => r.residual_skew_deg, 'residual')}</svg>`
  );
}
