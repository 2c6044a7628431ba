import type { TextLine } from '../types';
import { RgbImage } from './image';
import { loadOpenCv, matFromRgb, rgbFromMat, white } from './opencv';
import { Point, ThinPlateSpline, evaluateThinPlateSpline, fitThinPlateSpline } from './thinPlateSpline';

/**
 * A page dewarp: a thin-plate spline that moves points sampled along each detected (curved) text
 * line onto that line's straight target, with the frame's corners held in place.
 */
export interface DewarpPlan {
  width: number;
  height: number;
  /** Control points used (the line samples plus the four corners); 0 when there is nothing to do. */
  controlPoints: number;
  /** Output → source (what remap samples); null: the dewarp is the identity. */
  inverse: ThinPlateSpline | null;
  /** Source → output (for carrying points into the dewarped frame); null with `inverse`. */
  forward: ThinPlateSpline | null;
}

export interface DewarpOptions {
  /** Control points at most, corners included (the solve is O(n³)). */
  maxControlPoints?: number;
  /** The spline's smoothing λ (normalised units): absorbs jitter in the detected paths. */
  smoothing?: number;
}

const DEFAULTS: Required<DewarpOptions> = { maxControlPoints: 200, smoothing: 1e-5 };
/** Lines at least this share of the longest set their own straight target (see `lineControlPoints`). */
const GUIDE_SHARE = 0.6;

/** Lengths of the polyline's segments and their sum. */
function arcLengths(points: ReadonlyArray<readonly [number, number]>): { cumulative: number[]; total: number } {
  const cumulative = [0];
  for (let i = 1; i < points.length; i++) {
    cumulative.push(cumulative[i - 1] + Math.hypot(points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]));
  }
  return { cumulative, total: cumulative[cumulative.length - 1] };
}

/** `count` points evenly spaced by arc length along a polyline, ends included. */
function resample(points: ReadonlyArray<readonly [number, number]>, count: number): Point[] {
  const { cumulative, total } = arcLengths(points);
  const out: Point[] = [];
  let segment = 1;
  for (let i = 0; i < count; i++) {
    const s = (total * i) / (count - 1);
    while (segment < points.length - 1 && cumulative[segment] < s) segment++;
    const span = cumulative[segment] - cumulative[segment - 1];
    const t = span > 0 ? (s - cumulative[segment - 1]) / span : 0;
    const [a, b] = [points[segment - 1], points[segment]];
    out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
  }
  return out;
}

/** A line's path as y(x) from its points `sorted` by x, linear in between; undefined outside its span. */
function heightAt(sorted: ReadonlyArray<readonly [number, number]>, x: number): number | undefined {
  if (x < sorted[0][0] || x > sorted[sorted.length - 1][0]) return undefined;
  let i = 1;
  while (i < sorted.length - 1 && sorted[i][0] < x) i++;
  const [a, b] = [sorted[i - 1], sorted[i]];
  return b[0] > a[0] ? a[1] + ((x - a[0]) * (b[1] - a[1])) / (b[0] - a[0]) : a[1];
}

/** A line whose straight target is set by itself: its samples' mean y. */
interface Guide {
  /** Its path's points, ordered by x. */
  points: ReadonlyArray<readonly [number, number]>;
  target: number;
}

/**
 * Where a point's straight target lies relative to the guides: between the guide lines above and
 * below it at its x, at the same fraction of their gap as in the source; beyond the first or last,
 * at the same offset from the nearest. Undefined when no guide spans its x.
 */
function guidedTarget(guides: readonly Guide[], [x, y]: readonly [number, number]): number | undefined {
  let above: { y: number; target: number } | undefined;
  let below: { y: number; target: number } | undefined;
  for (const guide of guides) {
    const gy = heightAt(guide.points, x);
    if (gy === undefined) continue;
    if (gy <= y && (!above || gy > above.y)) above = { y: gy, target: guide.target };
    if (gy > y && (!below || gy < below.y)) below = { y: gy, target: guide.target };
  }
  if (above && below) return above.target + ((y - above.y) * (below.target - above.target)) / (below.y - above.y);
  if (above) return above.target + (y - above.y);
  if (below) return below.target + (y - below.y);
  return undefined;
}

/**
 * Control points: samples along each line (longest lines first, spaced so all fit the budget, at
 * least 3 per line so its bow is seen) and their targets, the same x on one horizontal line. The
 * long lines (GUIDE_SHARE of the longest) each go straight at their samples' mean y; a shorter line
 * (a paragraph's last line, a heading) goes where the guides around it put it, its samples' mean
 * of `guidedTarget` (its own mean y where no guide spans it). Its own mean y would not do: on a
 * page whose lines tilt more and more towards its foot, a short line at the left margin keeps its
 * height while the long line below it is levelled about its middle, so their targets close up and
 * the spline crushes (and waves) the text between them. Lines that no longer fit the budget are left out.
 */
function lineControlPoints(lines: readonly TextLine[], budget: number): { sources: Point[]; targets: Point[] } {
  const usable = lines
    .map((line) => ({ points: line.points, length: line.points.length >= 2 ? arcLengths(line.points).total : 0 }))
    .filter((line) => line.length > 0)
    .sort((a, b) => b.length - a.length);
  // Spaced so that floor(length / spacing) + 1 samples per line add up to at most the budget.
  const spacing = usable.reduce((s, line) => s + line.length, 0) / Math.max(1, budget - usable.length);
  const longest = usable[0]?.length ?? 0;
  const guides: Guide[] = [];
  const sources: Point[] = [];
  const targets: Point[] = [];
  for (const line of usable) {
    const count = Math.max(3, Math.floor(line.length / spacing) + 1);
    if (sources.length + count > budget) break;
    const samples = resample(line.points, count);
    const meanY = samples.reduce((s, p) => s + p[1], 0) / count;
    let target = meanY;
    if (line.length >= GUIDE_SHARE * longest) guides.push({ points: [...line.points].sort((a, b) => a[0] - b[0]), target: meanY });
    else target = samples.reduce((s, p) => s + (guidedTarget(guides, p) ?? p[1]), 0) / count;
    for (const p of samples) {
      sources.push(p);
      targets.push([p[0], target]);
    }
  }
  return { sources, targets };
}

/**
 * A dewarp's control points: each source point (on a curved line, or a corner) is moved to its
 * target; `smoothing` is the spline's λ. Coordinates are in the pixels of the frame dewarped.
 */
export interface DewarpPoints {
  from: Point[];
  to: Point[];
  smoothing: number;
}

/**
 * The control points of the dewarp of a `width`×`height` frame from its detected text lines (frame
 * coordinates): the line samples and the frame's four corners, held in place. Null when no line is usable.
 */
export function dewarpControlPoints(lines: readonly TextLine[], width: number, height: number, options: DewarpOptions = {}): DewarpPoints | null {
  const { maxControlPoints, smoothing } = { ...DEFAULTS, ...options };
  const corners: Point[] = [[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]];
  const { sources, targets } = lineControlPoints(lines, maxControlPoints - corners.length);
  if (sources.length === 0) return null;
  return { from: [...sources, ...corners], to: [...targets, ...corners], smoothing };
}

/** The dewarp of a `width`×`height` frame that moves `points.from` onto `points.to` (null: the identity). */
export function fitDewarp(points: DewarpPoints | null, width: number, height: number): DewarpPlan {
  if (!points) return { width, height, controlPoints: 0, inverse: null, forward: null };
  const { from, to, smoothing } = points;
  return {
    width,
    height,
    controlPoints: from.length,
    inverse: fitThinPlateSpline(to, from, smoothing),
    forward: fitThinPlateSpline(from, to, smoothing),
  };
}

/**
 * Plans the dewarp of a `width`×`height` frame from its detected text lines (frame coordinates).
 * Straight lines give the identity; no usable line gives `inverse: null`.
 */
export function planDewarp(lines: readonly TextLine[], width: number, height: number, options: DewarpOptions = {}): DewarpPlan {
  return fitDewarp(dewarpControlPoints(lines, width, height, options), width, height);
}

/** Where a source point lands in the dewarped frame. */
export function dewarpPoint(plan: DewarpPlan, point: readonly [number, number]): Point {
  return plan.forward ? evaluateThinPlateSpline(plan.forward, point) : [point[0], point[1]];
}

/**
 * A map sampled every `step` pixels on a `width`×`height` output: node (c, r) holds the source
 * coordinate of output pixel (c·step, r·step); pixels in between are bilinear in the nodes.
 */
export interface MapGrid {
  width: number;
  height: number;
  step: number;
  cols: number;
  rows: number;
  x: Float64Array;
  y: Float64Array;
}

/** A `width`×`height` map grid with node values `at(x, y)`. */
export function sampleMapGrid(width: number, height: number, step: number, at: (x: number, y: number) => readonly [number, number]): MapGrid {
  const cols = Math.max(2, Math.ceil((width - 1) / step) + 1);
  const rows = Math.max(2, Math.ceil((height - 1) / step) + 1);
  const x = new Float64Array(cols * rows);
  const y = new Float64Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [sx, sy] = at(c * step, r * step);
      x[r * cols + c] = sx;
      y[r * cols + c] = sy;
    }
  }
  return { width, height, step, cols, rows, x, y };
}

/**
 * The source coordinates of output rows [y0, y1) of `grid` (bilinear between nodes), written into
 * `mapX`/`mapY` (width × (y1 − y0) each, row y0 first).
 */
export function fillMapRows(grid: MapGrid, y0: number, y1: number, mapX: Float32Array, mapY: Float32Array): void {
  const { width, step, cols, rows, x: gridX, y: gridY } = grid;
  for (let y = y0; y < y1; y++) {
    const r = Math.min(rows - 2, Math.floor(y / step));
    const fy = y / step - r;
    const row = (y - y0) * width;
    // Along a row the map is linear within each cell: from the row's value at node c, step by its slope.
    for (let c = 0; c < cols - 1; c++) {
      const x0 = c * step;
      const x1 = c === cols - 2 ? width : x0 + step;
      const i = r * cols + c;
      const leftX = (1 - fy) * gridX[i] + fy * gridX[i + cols];
      const leftY = (1 - fy) * gridY[i] + fy * gridY[i + cols];
      const slopeX = ((1 - fy) * gridX[i + 1] + fy * gridX[i + cols + 1] - leftX) / step;
      const slopeY = ((1 - fy) * gridY[i + 1] + fy * gridY[i + cols + 1] - leftY) / step;
      for (let x = x0; x < x1; x++) {
        mapX[row + x] = leftX + slopeX * (x - x0);
        mapY[row + x] = leftY + slopeY * (x - x0);
      }
    }
  }
}

/**
 * Applies a dewarp to an image of the plan's size (bilinear, white outside); the inverse spline is
 * evaluated every `gridStep` pixels and interpolated in between.
 */
export async function dewarpImage(image: RgbImage, plan: DewarpPlan, gridStep = 16): Promise<RgbImage> {
  const { width, height } = plan;
  if (image.width !== width || image.height !== height) throw new Error(`dewarp: planned for ${width}×${height}, got ${image.width}×${image.height}`);
  if (!plan.inverse) return { width, height, pixels: image.pixels.slice(0, width * height * 3) };
  const { cv } = await loadOpenCv();
  const src = matFromRgb(cv, image);
  const mapX = new cv.Mat(height, width, cv.CV_32FC1);
  const mapY = new cv.Mat(height, width, cv.CV_32FC1);
  const dst = new cv.Mat();
  try {
    const inverse = plan.inverse;
    fillMapRows(sampleMapGrid(width, height, gridStep, (x, y) => evaluateThinPlateSpline(inverse, [x, y])), 0, height, mapX.data32F, mapY.data32F);
    cv.remap(src, dst, mapX, mapY, cv.INTER_LINEAR, cv.BORDER_CONSTANT, white(cv));
    return rgbFromMat(dst);
  } finally {
    for (const mat of [src, mapX, mapY, dst]) mat.delete();
  }
}
