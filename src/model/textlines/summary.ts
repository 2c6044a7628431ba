import type { PageSummary, TextLine } from '../../types';
import { baseFrame, type LineFit, type PageGeometry, type Vec } from './geometry';
import { projectionSkew } from './skewSearch';
import { LINE_TUNING } from './tuning';

/** Step 5 of the text-line analysis: the page's skew, curl and orientation from its measured lines. */

/** The weighted median of `values`. */
export function weightedMedian(values: number[], weights: number[]): number {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const half = weights.reduce((s, w) => s + w, 0) / 2;
  let acc = 0;
  for (const i of order) {
    acc += weights[i];
    if (acc >= half) return values[i];
  }
  return values[order[order.length - 1]] ?? 0;
}

/** Lines long enough to measure the page by: at least `share` of the longest line. */
function measuringLines(lines: LineFit[], share: number = LINE_TUNING.measuringLineShare): LineFit[] {
  const longest = Math.max(0, ...lines.map((l) => l.length));
  return lines.filter((l) => l.length >= share * longest);
}

/**
 * Skew and agreement of the (whole) lines: the length-weighted median of their angles (each the
 * robust slope over the whole line, so a bowed line counts with its chord's angle, not with the
 * opposite tilts of its halves), refined by the length-weighted mean of the angles within
 * LINE_TUNING.agreeDeg of it, then (given the map's `ink`) by the sharpest projection profile near
 * that (global, so a capital or descenders on one line barely move it), then (given the page's
 * `glyphInk`) by the sharpest profile of the page's own dark pixels within
 * LINE_TUNING.refineSpanDeg of that: the glyphs' baselines and x-height edges, not the detector's
 * blobs, which are less tilted than the glyphs on a skewed page.
 * Confidence is the share of line length that agrees within agreeDeg, scaled down below
 * LINE_TUNING.fullConfidenceLines lines.
 *
 * Given the `page` (the frame's extent along the lines and its darkest pixels), where the lines
 * cannot measure it (`linesCannotMeasure`: unsure, and few or short), the skew is the sharpest
 * profile of the page's darkest pixels within LINE_TUNING.pageSearchSpanDeg of the lines' reading:
 * a reading of the whole page that does not depend on how many lines the detector found. The
 * confidence stays the lines' (under the bar, so the controller acts on such a page as before).
 * Before that, where the unsure lines fan out (`fanSkew`: a page photographed at a slant), the skew
 * is the fan's angle at the frame's centre, with the fan's confidence, and `fanDeg` is its spread.
 */
export function estimateSkew(lines: LineFit[], ink?: Float32Array, glyphInk?: Float32Array, page?: { extent: number; across?: { n: Vec; centre: number }; darkestInk?: () => Float32Array | undefined }): { skewDeg: number; confidence: number; fanDeg?: number } {
  const used = measuringLines(lines);
  if (used.length === 0) return { skewDeg: 0, confidence: 0 };
  const median = weightedMedian(used.map((l) => l.regressionDeg), used.map((l) => l.length));
  const near = used.filter((l) => Math.abs(l.regressionDeg - median) <= LINE_TUNING.agreeDeg);
  const nearLength = near.reduce((s, l) => s + l.length, 0);
  const lineSkew = near.reduce((s, l) => s + l.regressionDeg * l.length, 0) / nearLength;
  const totalLength = used.reduce((s, l) => s + l.length, 0);
  const mapSkew = ink && ink.length > 0 ? projectionSkew(ink, lineSkew) : lineSkew;
  const linesSkew = glyphInk && glyphInk.length > 0 ? projectionSkew(glyphInk, mapSkew, LINE_TUNING.refineSpanDeg) : mapSkew;
  const confidence = (nearLength / totalLength) * Math.min(1, used.length / LINE_TUNING.fullConfidenceLines);
  const fan = page?.across && confidence < LINE_TUNING.pageSearchConfidence ? fanSkew(used, page.across) : undefined;
  if (fan) return fan;
  const darkest = page?.darkestInk && linesCannotMeasure(used, confidence, page.extent) ? page.darkestInk() : undefined;
  const skewDeg = darkest && darkest.length > 0 ? projectionSkew(darkest, linesSkew, LINE_TUNING.pageSearchSpanDeg) : linesSkew;
  return { skewDeg, confidence };
}

/**
 * The skew of lines that fan out: on a page photographed at a slant, perspective turns its lines
 * toward a vanishing point, so their angles change steadily across the page (the thesis photo in
 * spec/fixtures/real-pages: +4.5° at the top, −4.6° at the bottom, level in the middle), and no
 * angle is shared by enough of them for the lines' confidence, nor is any tilt the page's one
 * sharpest profile. The angles are fitted as a straight line of the lines' positions across the
 * page (`across.n`: the base frame's n), length-weighted, then again over the lines within
 * LINE_TUNING.agreeDeg of that fit; the skew is the refit's angle at the frame's centre
 * (`across.centre`): a photograph's centre is where the camera points, and a line through it
 * shows the camera's own tilt, the rest is perspective (the thesis photo's level line is its
 * centre's). A rotation of the frame about its centre moves that angle by as much. Undefined unless the
 * fan explains the lines — at least LINE_TUNING.pageSearchMinLines of them, the refit's lines
 * LINE_TUNING.pageSearchConfidence of their length or more (that share is the confidence, scaled
 * as the lines' is) — and spreads their angles over at least LINE_TUNING.fanMinSpreadDeg.
 */
function fanSkew(used: LineFit[], across: { n: Vec; centre: number }): { skewDeg: number; confidence: number; fanDeg: number } | undefined {
  if (used.length < LINE_TUNING.pageSearchMinLines) return undefined;
  const v = used.map((l) => l.line.points.reduce((s, p) => s + p[0] * across.n[0] + p[1] * across.n[1], 0) / l.line.points.length);
  const fit = (lines: number[]) => {
    const weight = lines.reduce((s, i) => s + used[i].length, 0);
    const mv = lines.reduce((s, i) => s + used[i].length * v[i], 0) / weight;
    const ma = lines.reduce((s, i) => s + used[i].length * used[i].regressionDeg, 0) / weight;
    let vv = 0;
    let va = 0;
    for (const i of lines) {
      vv += used[i].length * (v[i] - mv) ** 2;
      va += used[i].length * (v[i] - mv) * (used[i].regressionDeg - ma);
    }
    const slope = vv > 0 ? va / vv : 0;
    return { weight, angleAt: (at: number) => ma + slope * (at - mv), slope };
  };
  const all = used.map((_, i) => i);
  const first = fit(all);
  const agree = all.filter((i) => Math.abs(used[i].regressionDeg - first.angleAt(v[i])) <= LINE_TUNING.agreeDeg);
  if (agree.length < LINE_TUNING.pageSearchMinLines) return undefined;
  const refit = fit(agree);
  const kept = agree.filter((i) => Math.abs(used[i].regressionDeg - refit.angleAt(v[i])) <= LINE_TUNING.agreeDeg);
  const share = kept.reduce((s, i) => s + used[i].length, 0) / first.weight;
  const spread = Math.abs(refit.slope) * (Math.max(...agree.map((i) => v[i])) - Math.min(...agree.map((i) => v[i])));
  if (share < LINE_TUNING.pageSearchConfidence || spread < LINE_TUNING.fanMinSpreadDeg) return undefined;
  return { skewDeg: refit.angleAt(across.centre), confidence: share * Math.min(1, used.length / LINE_TUNING.fullConfidenceLines), fanDeg: spread };
}

/**
 * Whether the measuring lines `used` (with their skew `confidence`) leave the page's skew open:
 * unsure (under LINE_TUNING.pageSearchConfidence) and few (under pageSearchMinLines) or short (their
 * median under pageSearchShortLine of the frame's `extent` along them).
 */
function linesCannotMeasure(used: LineFit[], confidence: number, extent: number): boolean {
  if (confidence >= LINE_TUNING.pageSearchConfidence) return false;
  const lengths = used.map((l) => l.length).sort((a, b) => a - b);
  return used.length < LINE_TUNING.pageSearchMinLines || lengths[lengths.length >> 1] < LINE_TUNING.pageSearchShortLine * extent;
}

/**
 * The page summary of a geometry, with the base orientation turned by 180° when `flipped`. The
 * orientation confidence is the line direction's (`axisAgreement`); the direction classifier and
 * the other 0-or-180 cues lower it where they decide (`orientPage`).
 */
export function summarizeGeometry(geometry: PageGeometry, width: number, height: number, flipped: boolean): PageSummary {
  const orientationConfidence = geometry.lines.length === 0 ? 0 : geometry.axisAgreement;
  const long = measuringLines(geometry.lines, LINE_TUNING.curlLineShare).map((l) => l.line.curvaturePx);
  const curvaturePx = long.length ? weightedMedian(long, long.map(() => 1)) : 0;
  const extent = geometry.baseOrientation === 0 ? width : height;
  const { skewDeg, confidence, fanDeg = 0 } = estimateSkew(geometry.lines, geometry.ink, geometry.glyphInk, { extent, across: fanFrame(geometry.baseOrientation, width, height), darkestInk: geometry.darkestInk });
  const lines = geometry.lines.map(({ line }) => (flipped ? reverseLine(line) : line));
  return {
    orientationDeg: ((geometry.baseOrientation + (flipped ? 180 : 0)) % 360) as PageSummary['orientationDeg'],
    orientationConfidence,
    skewDeg,
    confidence,
    textLines: lines.length,
    textCoverage: geometry.coverage,
    curvaturePx,
    fanDeg,
    lines,
    width,
    height,
  };
}

/** The base frame's direction across the lines and the frame centre's position along it (for `fanSkew`). */
function fanFrame(base: 0 | 90, width: number, height: number): { n: Vec; centre: number } {
  const { n } = baseFrame(base);
  return { n, centre: (n[0] * width + n[1] * height) / 2 };
}

/** A line read the other way round (its page turned by 180°). */
export function reverseLine(line: TextLine): TextLine {
  const angle = line.angleDeg > 0 ? line.angleDeg - 180 : line.angleDeg + 180;
  return { ...line, points: [...line.points].reverse(), angleDeg: angle };
}
