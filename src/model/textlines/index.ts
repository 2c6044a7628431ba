/**
 * Text-line geometry from a page's text-probability map (pure functions, no I/O), one file per
 * analysis step, their tuning numbers in `tuning.ts`:
 *
 * 1. `components.ts` — connected components of the thresholded map, their moments, the axis the
 *    lines run along, each line-shaped component's centre path;
 * 2. `fits.ts` — a line's robust slope, bow and `LineFit`;
 * 3. `chaining.ts` — fragments of one text line (split at a gutter, a wide word gap, a curl)
 *    chained back into a whole line;
 * 4. `skewSearch.ts` — the projection-profile skew search over the lines' ink: the map's, then
 *    the page's own dark pixels around the lines (`pageInk.ts`);
 * 5. `summary.ts` — the page's skew, curl and orientation (`PageSummary`).
 *
 * `findTextLines.ts` runs steps 1–3; `geometry.ts` holds the frames and shapes they share.
 */
export { findTextLines, type LineOptions } from './findTextLines';
export { profileAxis } from './components';
export { bowPx, chordDeviation } from './fits';
export { estimateSkew, reverseLine, summarizeGeometry } from './summary';
export { skewedFrame } from './geometry';
export type { LineFit, PageGeometry } from './geometry';
