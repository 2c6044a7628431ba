/** The HTML volume report: per-page thumbnails before/after correction with the detected lines, and a skew plot. */
export { renderReport, type ReportPage, type VolumeReport } from './html';
export { REPORT_THUMBNAIL_PAGES, ReportCollector, appliedRotation } from './collect';
export { figureOf, THUMB_MAX_SIDE, type Figure } from './thumbnails';
export { escapeHtml, skewPlotSvg } from './svg';
