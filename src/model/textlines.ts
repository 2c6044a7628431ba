import type { PageSummary, TextLine } from '../types';
import { decideFlip, raggedVote, type OrientationVerdict } from './orientation';

/**
 * Text-line geometry from a page's text-probability map (pure functions, no I/O).
 *
 * Fragments are the line-shaped connected components of the thresholded map; a text line the
 * detector broke up (a column gutter, a wide word gap, a curled line) is chained back together from
 * them (`groupFragments`), so a line is a whole text line. Each is measured in a base frame
 * (e = reading direction, n = e turned 90° clockwise = "down" of the text) for one of two base
 * orientations: 0 (lines run along x) or 90 (lines run along y, read top to bottom). Telling 0 from
 * 180 and 90 from 270 needs the pixels (see `orientation.ts`); it only reverses the points.
 */

export interface LineOptions {
  /** Probability above which a pixel is text. */
  threshold: number;
  /** Components smaller than this (pixels) are noise. */
  minArea: number;
}

export const defaultLineOptions: LineOptions = { threshold: 0.3, minArea: 24 };

/** One text-line candidate in the base frame. */
export interface LineFit {
  line: TextLine;
  /** Angle of the line's centre path (robust fit) from e, degrees clockwise. */
  regressionDeg: number;
  length: number;
  area: number;
}

export interface PageGeometry {
  baseOrientation: 0 | 90;
  /** 0..1: how clearly the components run along the base orientation's axis (0: as much along the other). */
  axisAgreement: number;
  /** The line-shaped components, each measured on its own. */
  fragments: LineFit[];
  /** Whole text lines: the fragments chained in reading direction (see `groupFragments`). */
  lines: LineFit[];
  /** Text pixels of the measured lines in the base frame: u, v, probability, triple after triple. */
  ink: Float32Array;
  /** Fraction of pixels above the threshold. */
  coverage: number;
}

type Vec = [number, number];

/** The reading direction e and the text's down direction n of a base orientation. */
function baseFrame(orientation: 0 | 90): { e: Vec; n: Vec } {
  return orientation === 0 ? { e: [1, 0], n: [0, 1] } : { e: [0, 1], n: [-1, 0] };
}

/** The base frame turned clockwise by `skewDeg` (the frame the page's lines actually run in). */
function skewedFrame(orientation: 0 | 90, skewDeg: number): { e: Vec; n: Vec } {
  const { e, n } = baseFrame(orientation);
  const [c, s] = [Math.cos((skewDeg * Math.PI) / 180), Math.sin((skewDeg * Math.PI) / 180)];
  return { e: [e[0] * c + n[0] * s, e[1] * c + n[1] * s], n: [n[0] * c - e[0] * s, n[1] * c - e[1] * s] };
}

/** 8-connected components of `mask`: a label per pixel (−1 = background) and the label count. */
export function labelComponents(mask: Uint8Array, width: number, height: number): { labels: Int32Array; count: number } {
  const labels = new Int32Array(width * height).fill(-1);
  const stack = new Int32Array(width * height);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start] >= 0) continue;
    let top = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top];
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] && labels[q] < 0) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
    count++;
  }
  return { labels, count };
}

/** Per-component sums in the base frame: weight, u/v moments and extent along u. */
interface Sums { area: number; w: number; u: number; v: number; uu: number; uv: number; vv: number; uMin: number; uMax: number }

function componentSums(prob: Float32Array, labels: Int32Array, count: number, width: number, e: Vec, n: Vec): Sums[] {
  const sums: Sums[] = Array.from({ length: count }, () => ({ area: 0, w: 0, u: 0, v: 0, uu: 0, uv: 0, vv: 0, uMin: Infinity, uMax: -Infinity }));
  const height = labels.length / width;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      const l = labels[p];
      if (l < 0) continue;
      const u = x * e[0] + y * e[1];
      const v = x * n[0] + y * n[1];
      const w = prob[p];
      const s = sums[l];
      s.area++;
      s.w += w; s.u += w * u; s.v += w * v; s.uu += w * u * u; s.uv += w * u * v; s.vv += w * v * v;
      if (u < s.uMin) s.uMin = u;
      if (u > s.uMax) s.uMax = u;
    }
  }
  return sums;
}

/**
 * Whether the components are mostly longer along x (0) or along y (90), weighted by size, and how
 * clearly: |alongX − alongY| / (alongX + alongY).
 */
function dominantAxis(sums: Sums[]): { axis: 0 | 90; agreement: number } {
  let alongX = 0;
  let alongY = 0;
  for (const s of sums) {
    if (s.w <= 0) continue;
    const cu = s.uu / s.w - (s.u / s.w) ** 2;
    const cv = s.vv / s.w - (s.v / s.w) ** 2;
    if (cu > cv) alongX += s.area; else alongY += s.area;
  }
  const total = alongX + alongY;
  return { axis: alongY > alongX ? 90 : 0, agreement: total > 0 ? Math.abs(alongX - alongY) / total : 0 };
}

/** Tuning of the line analysis (one place). */
export const LINE_TUNING = {
  /**
   * How many times more line-to-line modulation one axis' profile must show than the other's
   * for the profiles to overrule the components' direction (`profileAxis`).
   */
  profileOverrule: 5,
  /** Width (σ, px) of the Gaussian each ink point is spread by in the skew search's profiles. */
  profileSigma: 0.7,
  /**
   * How far (°) from the lines' own angle the projection search looks. At ±15° the lines' angle
   * can be 0.7° off, so not narrower (±0.3° doubled the dev set's p95); but on a multi-column page
   * whose baselines step across the gutters, a tilt that lines up neighbouring columns makes a
   * second, false peak of the whole-page profile inside this window (a synthetic 8-column page at
   * 1.3° reads 0.4°; the 1853 Weekly Journal reads ≈ 0.4° off): still open.
   */
  projectionSpanDeg: 0.8,
};

/**
 * Which axis the text lines run along, from the map's two projection profiles: across text lines
 * the profile rises and falls line by line, along them it is smooth (only gutters and word gaps).
 * Modulation = Σ(P[i+1] − P[i])² / ΣP[i]²; `ratio` ≥ 1 is the larger over the smaller.
 */
export function profileAxis(prob: Float32Array, width: number, height: number): { axis: 0 | 90; ratio: number } {
  const rows = new Float64Array(height);
  const cols = new Float64Array(width);
  for (let y = 0, p = 0; y < height; y++)
    for (let x = 0; x < width; x++, p++) {
      rows[y] += prob[p];
      cols[x] += prob[p];
    }
  const modulation = (h: Float64Array) => {
    let diff = 0;
    let sq = 0;
    for (let i = 0; i < h.length; i++) {
      sq += h[i] * h[i];
      if (i > 0) diff += (h[i] - h[i - 1]) ** 2;
    }
    return sq > 0 ? diff / sq : 0;
  };
  const alongX = modulation(rows); // lines along x modulate the row profile
  const alongY = modulation(cols);
  if (alongX === 0 && alongY === 0) return { axis: 0, ratio: 1 };
  return alongY > alongX ? { axis: 90, ratio: alongY / Math.max(alongX, 1e-12) } : { axis: 0, ratio: alongX / Math.max(alongY, 1e-12) };
}

/** A kept component's centre-path bins along u: (Σ probability, Σ probability·v) per bin. */
interface PathBins { binW: number; uMin: number; bins: Float64Array }

/** Centre path of each kept component (`keep[label]`): probability-weighted mean v per bin along u. */
function centrePaths(prob: Float32Array, labels: Int32Array, width: number, e: Vec, n: Vec, keep: Array<PathBins | undefined>): void {
  const height = labels.length / width;
  for (let y = 0, p = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      const l = labels[p];
      const entry = l < 0 ? undefined : keep[l];
      if (!entry) continue;
      const u = x * e[0] + y * e[1];
      const b = Math.floor((u - entry.uMin) / entry.binW);
      entry.bins[2 * b] += prob[p];
      entry.bins[2 * b + 1] += prob[p] * (x * n[0] + y * n[1]);
    }
  }
}

/** Largest distance of `points` from the chord between the first and last point. */
export function chordDeviation(points: Array<[number, number]>): number {
  const [x0, y0] = points[0];
  const [x1, y1] = points[points.length - 1];
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len === 0) return 0;
  let worst = 0;
  for (const [x, y] of points) worst = Math.max(worst, Math.abs((x - x0) * (y1 - y0) - (y - y0) * (x1 - x0)) / len);
  return worst;
}

/**
 * The bow of a centre path: the largest distance of its least-squares parabola v = a + b·u + c·u²
 * from that parabola's chord over the path's span, i.e. |c|·span²/4 across the chord. Unlike the
 * raw path's distance from its chord, a glyph-sized jog where two fragments meet or a rounded end
 * bin barely moves it. 0 with fewer than three centres.
 */
export function bowPx(centres: Vec[]): number {
  if (centres.length < 3) return 0;
  const u0 = centres[0][0];
  const span = centres[centres.length - 1][0] - u0;
  if (span <= 0) return 0;
  // Normal equations in t = (u − u0) / span ∈ [0, 1], for conditioning.
  const m = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const r = [0, 0, 0];
  for (const [u, v] of centres) {
    const basis = [1, (u - u0) / span, ((u - u0) / span) ** 2];
    for (let i = 0; i < 3; i++) {
      r[i] += basis[i] * v;
      for (let j = 0; j < 3; j++) m[i][j] += basis[i] * basis[j];
    }
  }
  const [, b, c] = solve3(m, r);
  // v(t) = a + b·t + c·t²: the chord's slope is b + c (per span), the bow at t = ½ is c/4.
  return Math.abs(c / 4) / Math.hypot(1, (b + c) / span);
}

/** Solves the 3×3 system m·x = r by Cramer's rule ([0, 0, 0] when singular). */
function solve3(m: number[][], r: number[]): number[] {
  const det = (a: number[][]) =>
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  const d = det(m);
  if (d === 0) return [0, 0, 0];
  return [0, 1, 2].map((k) => det(m.map((row, i) => row.map((x, j) => (j === k ? r[i] : x)))) / d);
}

/**
 * Theil–Sen slope of a line's bin centres (u, v): the median slope over pairs of interior bins at
 * least a quarter of the line apart. Robust to the few bins a capital, a descender run or a
 * rounded end pulls off the line, which bias a least-squares fit. Undefined with too few bins.
 */
export function robustSlope(centres: Array<[number, number]>, length: number): number | undefined {
  const inner = centres.slice(1, -1);
  const slopes: number[] = [];
  for (let i = 0; i < inner.length; i++)
    for (let j = i + 1; j < inner.length; j++) {
      const du = inner[j][0] - inner[i][0];
      if (du >= length / 4) slopes.push((inner[j][1] - inner[i][1]) / du);
    }
  if (slopes.length < 3) return undefined;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

/** A component that looks like (part of) a text line, in the base frame. */
interface Fragment {
  /** Bin centres (u, v), ordered by u. */
  centres: Vec[];
  height: number;
  length: number;
  area: number;
  /** Least-squares slope dv/du of the whole component (fallback for the robust slope). */
  slope: number;
}

/** Least-squares slope dv/du of `centres` (0 when they do not spread along u). */
function leastSquaresSlope(centres: Vec[]): number {
  const mu = centres.reduce((s, c) => s + c[0], 0) / centres.length;
  const mv = centres.reduce((s, c) => s + c[1], 0) / centres.length;
  let uu = 0;
  let uv = 0;
  for (const [u, v] of centres) { uu += (u - mu) ** 2; uv += (u - mu) * (v - mv); }
  return uu > 0 ? uv / uu : 0;
}

/** The end of a fragment a neighbour may join: where it is and where its path heads. */
interface End { u: number; v: number; slope: number }

/** The start (`atEnd` false) or end of a fragment, its slope fitted over its last third. */
function endOf(f: Fragment, atEnd: boolean): End {
  const k = Math.max(3, Math.ceil(f.centres.length / 3));
  const part = atEnd ? f.centres.slice(-k) : f.centres.slice(0, k);
  const [u, v] = atEnd ? f.centres[f.centres.length - 1] : f.centres[0];
  return { u, v, slope: part.length >= 3 ? leastSquaresSlope(part) : f.slope };
}

/** How far apart (in line heights) two fragments of one line may be along the line. */
const MAX_GAP_HEIGHTS = 24;
/** How much (in line heights) two fragments of one line may overlap along the line. */
const MAX_OVERLAP_HEIGHTS = 1;
/** How far (in line heights) their paths may disagree where they meet. */
const MAX_OFFSET_HEIGHTS = 0.5;

/** A fragment as a link of a chain: its height and the ends it joins by. */
interface Link { height: number; start: End; end: End }

/**
 * The cost of continuing fragment `a` with fragment `b` (lower is better), or undefined when `b`
 * cannot be the next part of `a`'s line: `b` must start after `a` ends (overlapping by at most a
 * line height), within MAX_GAP_HEIGHTS, at a similar height, and both paths, extrapolated along
 * their end slopes to the middle of the gap, must meet within half a line height.
 */
function joinCost(a: Link, b: Link): number | undefined {
  const height = Math.max(a.height, b.height);
  if (Math.min(a.height, b.height) < 0.6 * height) return undefined;
  const { end } = a;
  const { start } = b;
  const gap = start.u - end.u;
  if (gap < -MAX_OVERLAP_HEIGHTS * height || gap > MAX_GAP_HEIGHTS * height) return undefined;
  const middle = (end.u + start.u) / 2;
  const offset = Math.abs(end.v + end.slope * (middle - end.u) - (start.v + start.slope * (middle - start.u)));
  if (offset > MAX_OFFSET_HEIGHTS * height) return undefined;
  return offset / height + Math.max(0, gap) / (MAX_GAP_HEIGHTS * height);
}

/**
 * Chains fragments into whole text lines: the cheapest joins first, each fragment continued by at
 * most one other and continuing at most one. A fragment is at least 3 line heights long and may
 * overlap the next by one, so along a chain the start u only grows: no cycles.
 */
function groupFragments(fragments: Fragment[]): Fragment[][] {
  const links: Link[] = fragments.map((f) => ({ height: f.height, start: endOf(f, false), end: endOf(f, true) }));
  const joins: Array<{ a: number; b: number; cost: number }> = [];
  links.forEach((a, i) =>
    links.forEach((b, j) => {
      if (i === j) return;
      const cost = joinCost(a, b);
      if (cost !== undefined) joins.push({ a: i, b: j, cost });
    }),
  );
  joins.sort((x, y) => x.cost - y.cost);
  const next = new Map<number, number>();
  const joined = new Set<number>();
  for (const { a, b } of joins) {
    if (next.has(a) || joined.has(b)) continue;
    next.set(a, b);
    joined.add(b);
  }
  const chains: Fragment[][] = [];
  fragments.forEach((_, i) => {
    if (joined.has(i)) return;
    const chain = [fragments[i]];
    for (let k = next.get(i); k !== undefined; k = next.get(k)) chain.push(fragments[k]);
    chains.push(chain);
  });
  return chains;
}

/**
 * The centre path of a chain: its fragments' paths, less the bins at the ends where two fragments
 * meet (a component's end is cut across the text, so on a skewed line its end bin's mean is off
 * the path).
 */
function chainCentres(parts: Fragment[]): Vec[] {
  const trimmed = parts.map((p, i) => {
    if (p.centres.length < 5) return p.centres;
    return p.centres.slice(i > 0 ? 1 : 0, i < parts.length - 1 ? -1 : undefined);
  });
  return trimmed.flat().sort((a, b) => a[0] - b[0]);
}

/** The measured line of one or more fragments (one chain), with its points in frame pixels. */
function fitOf(parts: Fragment[], e: Vec, n: Vec): LineFit {
  const centres = chainCentres(parts);
  const points = centres.map(([u, v]): [number, number] => [u * e[0] + v * n[0], u * e[1] + v * n[1]]);
  const length = centres[centres.length - 1][0] - centres[0][0] + Math.max(...parts.map((p) => p.length / p.centres.length));
  const area = parts.reduce((s, p) => s + p.area, 0);
  const height = parts.reduce((s, p) => s + p.height * p.area, 0) / area;
  const slope = robustSlope(centres, length) ?? (parts.length === 1 ? parts[0].slope : leastSquaresSlope(centres));
  const [x0, y0] = points[0];
  const [x1, y1] = points[points.length - 1];
  return {
    line: { points, height, angleDeg: (Math.atan2(y1 - y0, x1 - x0) * 180) / Math.PI, curvaturePx: bowPx(centres) },
    regressionDeg: (Math.atan(slope) * 180) / Math.PI,
    length,
    area,
  };
}

/**
 * Finds the text lines of a probability map in the base orientation its components suggest: the
 * line-shaped components (`fragments`) and the whole lines they chain into (`lines`).
 */
export function findTextLines(prob: Float32Array, width: number, height: number, options: LineOptions = defaultLineOptions): PageGeometry {
  const mask = new Uint8Array(width * height);
  let on = 0;
  for (let i = 0; i < mask.length; i++) if (prob[i] > options.threshold) { mask[i] = 1; on++; }
  const { labels, count } = labelComponents(mask, width, height);
  const alongX = componentSums(prob, labels, count, width, [1, 0], [0, 1]);
  const components = dominantAxis(alongX);
  const profiles = profileAxis(prob, width, height);
  // Where the detector merged a column's lines into one blob, the blob runs along the column, not
  // along its lines: the profiles across the lines, modulated line by line, then tell better.
  const overruled = profiles.ratio >= LINE_TUNING.profileOverrule && profiles.axis !== components.axis;
  const baseOrientation = overruled ? profiles.axis : components.axis;
  const axisAgreement = overruled ? 1 - 1 / profiles.ratio : components.agreement;
  const { e, n } = baseFrame(baseOrientation);
  const sums = baseOrientation === 0 ? alongX : componentSums(prob, labels, count, width, e, n);

  const keep: Array<PathBins | undefined> = Array.from({ length: count }, () => undefined);
  let inkCount = 0;
  const fits = new Map<number, { slope: number; length: number; thickness: number }>();
  sums.forEach((s, label) => {
    if (s.area < options.minArea) return;
    const length = s.uMax - s.uMin + 1;
    const thickness = s.area / length;
    if (length < 3 * thickness) return;
    const mu = s.u / s.w;
    const mv = s.v / s.w;
    const slope = (s.uv / s.w - mu * mv) / (s.uu / s.w - mu * mu);
    const binW = Math.max(2, thickness, length / 32);
    keep[label] = { binW, uMin: s.uMin, bins: new Float64Array(2 * (Math.floor(length / binW) + 1)) };
    inkCount += s.area;
    fits.set(label, { slope, length, thickness });
  });
  centrePaths(prob, labels, width, e, n, keep);

  const fragments: Fragment[] = [];
  keep.forEach((entry, label) => {
    if (!entry) return;
    const fit = fits.get(label)!;
    const centres: Vec[] = [];
    for (let b = 0; 2 * b < entry.bins.length; b++) {
      const w = entry.bins[2 * b];
      if (w > 0) centres.push([entry.uMin + (b + 0.5) * entry.binW, entry.bins[2 * b + 1] / w]);
    }
    if (centres.length >= 2) fragments.push({ centres, height: fit.thickness, length: fit.length, area: sums[label].area, slope: fit.slope });
  });
  return {
    baseOrientation,
    axisAgreement,
    fragments: fragments.map((f) => fitOf([f], e, n)),
    lines: groupFragments(fragments).map((chain) => fitOf(chain, e, n)),
    ink: inkOf(prob, labels, width, e, n, keep, inkCount),
    coverage: on / (width * height),
  };
}

/** The `count` pixels of the kept components as (u, v, probability) triples, centred on their mean. */
function inkOf(prob: Float32Array, labels: Int32Array, width: number, e: Vec, n: Vec, keep: Array<unknown>, count: number): Float32Array {
  const ink = new Float32Array(3 * count);
  let sumU = 0;
  let sumV = 0;
  const height = labels.length / width;
  for (let y = 0, p = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p++) {
      if (labels[p] < 0 || keep[labels[p]] === undefined) continue;
      const u = x * e[0] + y * e[1];
      const v = x * n[0] + y * n[1];
      ink[i++] = u;
      ink[i++] = v;
      ink[i++] = prob[p];
      sumU += u;
      sumV += v;
    }
  }
  const [meanU, meanV] = [sumU / (count || 1), sumV / (count || 1)];
  for (let i = 0; i < ink.length; i += 3) {
    ink[i] -= meanU;
    ink[i + 1] -= meanV;
  }
  return ink;
}

/** The bounding box of the ink's (u, v). */
interface InkBox { uMin: number; uMax: number; vMin: number; vMax: number }

function inkBox(ink: Float32Array): InkBox {
  const box = { uMin: Infinity, uMax: -Infinity, vMin: Infinity, vMax: -Infinity };
  for (let i = 0; i < ink.length; i += 3) {
    box.uMin = Math.min(box.uMin, ink[i]);
    box.uMax = Math.max(box.uMax, ink[i]);
    box.vMin = Math.min(box.vMin, ink[i + 1]);
    box.vMax = Math.max(box.vMax, ink[i + 1]);
  }
  return box;
}

/**
 * The profile kernel: a Gaussian of LINE_TUNING.profileSigma px sampled at the four bins around a
 * point, by the point's offset within its bin (64 steps). A linear split (two bins) makes the
 * profile of pixel-aligned rows sharper than that of any tilted ones, which pulls the search to
 * exactly 0° on an upright page and makes a page skewed by 0.7° read 0.000°; a kernel this wide
 * spreads a point the same way wherever it falls.
 */
const KERNEL_STEPS = 64;
const KERNEL = (() => {
  const table = new Float64Array(4 * KERNEL_STEPS);
  const sigma = LINE_TUNING.profileSigma;
  for (let k = 0; k < KERNEL_STEPS; k++) {
    const f = k / KERNEL_STEPS;
    let sum = 0;
    for (let j = 0; j < 4; j++) sum += table[4 * k + j] = Math.exp(-(((j - 1 - f) / sigma) ** 2) / 2);
    for (let j = 0; j < 4; j++) table[4 * k + j] /= sum;
  }
  return table;
})();

/**
 * Sharpness of the ink's profile across lines at skew `deg`: the sum of squares of its histogram
 * along the direction perpendicular to lines at that skew (1 px bins, each point spread by
 * `KERNEL`). It peaks when the bins line up with the text lines. The histogram spans the
 * projection of the ink's box.
 */
function profileSharpness(ink: Float32Array, box: InkBox, deg: number): number {
  const a = (deg * Math.PI) / 180;
  const [c, s] = [Math.cos(a), Math.sin(a)];
  const corners = [box.vMin * c - box.uMin * s, box.vMin * c - box.uMax * s, box.vMax * c - box.uMin * s, box.vMax * c - box.uMax * s];
  const lo = Math.min(...corners) - 1;
  const bins = new Float64Array(Math.ceil(Math.max(...corners) - lo) + 4);
  for (let i = 0; i < ink.length; i += 3) {
    const v = ink[i + 1] * c - ink[i] * s - lo;
    const b = v | 0; // v ≥ 1: the box's projection starts at lo + 1
    const k = 4 * (((v - b) * KERNEL_STEPS) | 0);
    const w = ink[i + 2];
    bins[b - 1] += w * KERNEL[k];
    bins[b] += w * KERNEL[k + 1];
    bins[b + 1] += w * KERNEL[k + 2];
    bins[b + 2] += w * KERNEL[k + 3];
  }
  let sum = 0;
  for (const h of bins) sum += h * h;
  return sum;
}

/** Every `n`th (u, v, probability) triple of the ink. */
function everyNth(ink: Float32Array, n: number): Float32Array {
  const out = new Float32Array(3 * Math.ceil(ink.length / (3 * n)));
  for (let i = 0, j = 0; i < ink.length; i += 3 * n, j += 3) out.set(ink.subarray(i, i + 3), j);
  return out;
}

/** Ink triples the coarsest search step reads one of: its 0.1° steps only have to land near the peak. */
const COARSE_SAMPLE = 4;

/**
 * The skew within ±`span`° of `around` whose profile is sharpest, coarse to fine, to ~0.005°. The
 * coarse 0.1° step scores every COARSE_SAMPLE-th ink pixel; the finer steps score all of them.
 */
export function projectionSkew(ink: Float32Array, around: number, span = LINE_TUNING.projectionSpanDeg): number {
  const box = inkBox(ink);
  const coarse = everyNth(ink, COARSE_SAMPLE);
  let best = around;
  for (const step of [0.1, 0.02, 0.005]) {
    const centre = best;
    const scored = step === 0.1 ? coarse : ink;
    let bestScore = -1;
    for (let d = centre - span; d <= centre + span + 1e-9; d += step) {
      const score = profileSharpness(scored, box, d);
      if (score > bestScore) { bestScore = score; best = d; }
    }
    span = step;
  }
  return best;
}

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
function measuringLines(lines: LineFit[], share = 0.25): LineFit[] {
  const longest = Math.max(0, ...lines.map((l) => l.length));
  return lines.filter((l) => l.length >= share * longest);
}

/**
 * Lines long enough to show the page's curl: at least 60% of the longest, so that a column's
 * share of a line that did not chain across the gutter, or a short last line of a paragraph,
 * does not hide the bow of the whole lines.
 */
const CURL_LINE_SHARE = 0.6;

/**
 * Skew and agreement of the (whole) lines: the length-weighted median of their angles (each the
 * robust slope over the whole line, so a bowed line counts with its chord's angle, not with the
 * opposite tilts of its halves), refined by the length-weighted mean of the angles within 0.5° of
 * it, then (given the ink) by the sharpest projection profile near that (global, so a capital or
 * descenders on one line barely move it).
 * Confidence is the share of line length that agrees within 0.5°, scaled down below five lines.
 */
export function estimateSkew(lines: LineFit[], ink?: Float32Array): { skewDeg: number; confidence: number } {
  const used = measuringLines(lines);
  if (used.length === 0) return { skewDeg: 0, confidence: 0 };
  const median = weightedMedian(used.map((l) => l.regressionDeg), used.map((l) => l.length));
  const near = used.filter((l) => Math.abs(l.regressionDeg - median) <= 0.5);
  const nearLength = near.reduce((s, l) => s + l.length, 0);
  const lineSkew = near.reduce((s, l) => s + l.regressionDeg * l.length, 0) / nearLength;
  const totalLength = used.reduce((s, l) => s + l.length, 0);
  const skewDeg = ink && ink.length > 0 ? projectionSkew(ink, lineSkew) : lineSkew;
  return { skewDeg, confidence: (nearLength / totalLength) * Math.min(1, used.length / 5) };
}

/**
 * The page summary of a geometry, with the base orientation turned by 180° when `flipped` (a
 * boolean, or the direction classifier's verdict, see `readsUpsideDown`). The orientation
 * confidence is the lesser of the line direction's (`axisAgreement`) and the classifier's; without
 * a verdict, the line direction's alone.
 */
export function summarizeGeometry(geometry: PageGeometry, width: number, height: number, direction: boolean | OrientationVerdict): PageSummary {
  const axisConfidence = geometry.lines.length === 0 ? 0 : geometry.axisAgreement;
  let flipped: boolean;
  let orientationConfidence: number;
  if (typeof direction === 'boolean') {
    flipped = direction;
    orientationConfidence = axisConfidence;
  } else {
    const { e, n } = skewedFrame(geometry.baseOrientation, estimateSkew(geometry.lines).skewDeg);
    const decided = decideFlip(direction, raggedVote(geometry.fragments, e, n));
    flipped = decided.flipped;
    orientationConfidence = Math.min(axisConfidence, decided.confidence);
  }
  const long = measuringLines(geometry.lines, CURL_LINE_SHARE).map((l) => l.line.curvaturePx);
  const curvaturePx = long.length ? weightedMedian(long, long.map(() => 1)) : 0;
  const { skewDeg, confidence } = estimateSkew(geometry.lines, geometry.ink);
  const lines = geometry.lines.map(({ line }) => (flipped ? reverseLine(line) : line));
  return {
    orientationDeg: ((geometry.baseOrientation + (flipped ? 180 : 0)) % 360) as PageSummary['orientationDeg'],
    orientationConfidence,
    skewDeg,
    confidence,
    textLines: lines.length,
    textCoverage: geometry.coverage,
    curvaturePx,
    lines,
    width,
    height,
  };
}

function reverseLine(line: TextLine): TextLine {
  const angle = line.angleDeg > 0 ? line.angleDeg - 180 : line.angleDeg + 180;
  return { ...line, points: [...line.points].reverse(), angleDeg: angle };
}
