import type { VolumeRecord } from '../types';
import { escapeHtml, figureSvg, skewPlotSvg } from './svg';
import type { Figure } from './thumbnails';

/** One page of the report: its row and its thumbnails before and after correction. */
export interface ReportPage {
  record: VolumeRecord;
  /** The counter-clockwise rotation the correction applied (0 when none was kept). */
  rotateDeg: number;
  /** The original, with the first pass's lines. */
  before?: Figure;
  /** The published page image (`afterFromImage`), or else the original turned by `rotateDeg`, with the final pass's lines. */
  after?: Figure;
  /** `after` is made from the published page image (dewarp included). */
  afterFromImage?: boolean;
  /** Why an ok page has no thumbnails (its original could not be read again). */
  thumbnailError?: string;
}

/** What a report shows. */
export interface VolumeReport {
  volumeId: string;
  /** Label → value rows of the run's summary. */
  summary: Array<[string, string]>;
  pages: ReportPage[];
  /** A line shown above the pages (e.g. why there are none). */
  note?: string;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 12px}
table{border-collapse:collapse}
td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.summary th{color:#555;font-weight:600}
.thumb{border:1px solid #bbb;background:#fff}
.thumb .line{fill:none;stroke:#e0218a;stroke-width:1.5;stroke-opacity:.85}
.plot .axis{stroke:#888}
.plot polyline{fill:none;stroke-width:1.5}
.plot .skew{stroke:#1f6fd1;fill:#1f6fd1}
.plot .residual{stroke:#d1591f;fill:#d1591f}
.plot polyline.skew,.plot polyline.residual{fill:none}
.plot text{font-size:11px;fill:#555}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.error td{background:#fff1f0}
.note{color:#555}
`;

/** Degrees with two decimals (no "-0.00"). */
const deg = (v: number | null) => (v === null ? '–' : `${(Math.abs(v) < 0.005 ? 0 : v).toFixed(2)}°`);

function pageRow(page: ReportPage): string {
  const r = page.record;
  const key = escapeHtml(r.key);
  if (r.status === 'error') {
    return `<tr class="error"><td>${r.seq}</td><td>${key}</td><td colspan="3">error: ${escapeHtml(r.error ?? 'unknown error')}</td></tr>`;
  }
  const figure = (f: Figure | undefined, label: string) => (f ? figureSvg(f, `${r.key} ${label}`) : '–');
  const facts: Array<[string, string]> = [
    ['orientation', deg(r.orientation_deg)],
    ['skew', deg(r.skew_deg)],
    ['transform', r.transform + (r.rejected_transform ? ` (rejected ${r.rejected_transform})` : '')],
    ['rotated by', deg(page.rotateDeg)],
    ['residual tilt', deg(r.residual_skew_deg)],
    ['curvature', `${r.curvature_px?.toFixed(1) ?? '–'} → ${r.residual_curvature_px?.toFixed(1) ?? '–'} px`],
    ['text lines', String(r.text_lines ?? '–')],
  ];
  if (r.error) facts.push(['note', escapeHtml(r.error)]);
  if (page.thumbnailError) facts.push(['no thumbnail', escapeHtml(page.thumbnailError)]);
  const factTable = `<table>${facts.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
  return `<tr class="page"><td>${r.seq}</td><td>${key}</td><td>${figure(page.before, 'before')}</td><td>${figure(page.after, 'after')}</td><td>${factTable}</td></tr>`;
}

/** The report as one self-contained HTML document (inline CSS, SVG and base64 JPEG thumbnails). */
export function renderReport(report: VolumeReport): string {
  const title = `rxvolume report: ${escapeHtml(report.volumeId)}`;
  const summary = report.summary.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const records = report.pages.map((p) => p.record);
  const plot = records.length
    ? `<h2>Skew per page</h2><div class="legend"><span style="background:#1f6fd1"></span>measured skew<span style="background:#d1591f"></span>residual tilt after correction</div>${skewPlotSvg(records)}`
    : '';
  const pages = report.pages.length
    ? `<h2>Pages</h2><p class="note">Lines are drawn as the model found them. ${report.pages.some((p) => p.afterFromImage) ? '“After” is the published page image (turned, deskewed and dewarped at full resolution).' : '“After” shows the original turned by the applied rotation; pages dewarped with a thin-plate spline (transform tps) show the rotation only (publish the page images, --images, to see the dewarp).'}</p>` +
      `<table class="pages"><tr><th>#</th><th>key</th><th>before</th><th>after</th><th>measurements</th></tr>${report.pages.map(pageRow).join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body><h1>${title}</h1>
<table class="summary">${summary}</table>
${report.note ? `<p class="note">${escapeHtml(report.note)}</p>` : ''}
${plot}
${pages}
</body></html>
`;
}
