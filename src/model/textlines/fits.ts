import { solveLinear } from '../../transform/linearSolve';
import type { LineFit, Vec } from './geometry';
import { LINE_TUNING } from './tuning';

/**
 * Step 2 of the text-line analysis: measuring a line from its centre path — its robust slope, its
 * bow, and the `LineFit` of one fragment or of a chain of them.
 */

/** A component that looks like (part of) a text line, in the base frame. */
export interface Fragment {
  /** Bin centres (u, v), ordered by u. */
  centres: Vec[];
  height: number;
  length: number;
  area: number;
  /** Least-squares slope dv/du of the whole component (fallback for the robust slope). */
  slope: number;
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
 * bin barely moves it. 0 with fewer than three centres (or when they do not fix a parabola).
 */
export function bowPx(centres: Vec[]): number {
  if (centres.length < 3) return 0;
  const u0 = centres[0][0];
  const span = centres[centres.length - 1][0] - u0;
  if (span <= 0) return 0;
  // Normal equations in t = (u − u0) / span ∈ [0, 1], for conditioning.
  const m = new Float64Array(9);
  const r = new Float64Array(3);
  for (const [u, v] of centres) {
    const basis = [1, (u - u0) / span, ((u - u0) / span) ** 2];
    for (let i = 0; i < 3; i++) {
      r[i] += basis[i] * v;
      for (let j = 0; j < 3; j++) m[3 * i + j] += basis[i] * basis[j];
    }
  }
  let b: number;
  let c: number;
  try {
    [, b, c] = solveLinear(m, r, 3, 1);
  } catch {
    return 0; // the centres sit at fewer than three distinct u: no parabola
  }
  // v(t) = a + b·t + c·t²: the chord's slope is b + c (per span), the bow at t = ½ is c/4.
  return Math.abs(c / 4) / Math.hypot(1, (b + c) / span);
}

/**
 * Theil–Sen slope of a line's bin centres (u, v): the median slope over pairs of interior bins at
 * least 1/LINE_TUNING.slopePairParts of the line apart. Robust to the few bins a capital, a
 * descender run or a rounded end pulls off the line, which bias a least-squares fit. Undefined with
 * too few pairs (LINE_TUNING.minSlopePairs).
 */
export function robustSlope(centres: Array<[number, number]>, length: number): number | undefined {
  const inner = centres.slice(1, -1);
  const slopes: number[] = [];
  for (let i = 0; i < inner.length; i++)
    for (let j = i + 1; j < inner.length; j++) {
      const du = inner[j][0] - inner[i][0];
      if (du >= length / LINE_TUNING.slopePairParts) slopes.push((inner[j][1] - inner[i][1]) / du);
    }
  if (slopes.length < LINE_TUNING.minSlopePairs) return undefined;
  slopes.sort((a, b) => a - b);
  const mid = slopes.length >> 1;
  return slopes.length % 2 ? slopes[mid] : (slopes[mid - 1] + slopes[mid]) / 2;
}

/** Least-squares slope dv/du of `centres` (0 when they do not spread along u). */
export function leastSquaresSlope(centres: Vec[]): number {
  const mu = centres.reduce((s, c) => s + c[0], 0) / centres.length;
  const mv = centres.reduce((s, c) => s + c[1], 0) / centres.length;
  let uu = 0;
  let uv = 0;
  for (const [u, v] of centres) { uu += (u - mu) ** 2; uv += (u - mu) * (v - mv); }
  return uu > 0 ? uv / uu : 0;
}

/**
 * The centre path of a chain: its fragments' paths, less the bins at the ends where two fragments
 * meet (a component's end is cut across the text, so on a skewed line its end bin's mean is off
 * the path); fragments shorter than LINE_TUNING.minBinsToTrim bins keep all theirs.
 */
function chainCentres(parts: Fragment[]): Vec[] {
  const trimmed = parts.map((p, i) => {
    if (p.centres.length < LINE_TUNING.minBinsToTrim) return p.centres;
    return p.centres.slice(i > 0 ? 1 : 0, i < parts.length - 1 ? -1 : undefined);
  });
  return trimmed.flat().sort((a, b) => a[0] - b[0]);
}

/** The measured line of one or more fragments (one chain), with its points in frame pixels. */
export function fitOf(parts: Fragment[], e: Vec, n: Vec): LineFit {
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
