import { solveLinear } from './linearSolve';

export type Point = [number, number];

/**
 * A thin-plate spline R² → R²: f(p) = A·[1, x, y] + Σ wᵢ·U(|p − cᵢ|), U(r) = r²·ln r².
 * Coordinates are normalised internally (centred on the centres' mean, divided by their spread)
 * so the system stays well conditioned at any image size.
 */
export interface ThinPlateSpline {
  /** Centres in normalised coordinates, x then y per centre. */
  centres: Float64Array;
  /** Per centre: weight for x, weight for y. */
  weights: Float64Array;
  /** Affine part for x then for y: [1, x, y] coefficients each. */
  affine: Float64Array;
  origin: Point;
  scale: number;
}

/** U(r) of the thin-plate kernel, from r². */
function kernel(r2: number): number {
  return r2 > 0 ? r2 * Math.log(r2) : 0;
}

/**
 * The spline with f(fromᵢ) ≈ toᵢ. `smoothing` (λ ≥ 0, in normalised units) trades exactness for
 * less bending: 0 interpolates exactly. Solves the (n+3)² system [K+λI P; Pᵀ 0]·[w; a] = [t; 0].
 * Throws when the system is singular: fewer than 3 points, all on one line, or repeated with λ = 0.
 */
export function fitThinPlateSpline(from: readonly Point[], to: readonly Point[], smoothing = 0): ThinPlateSpline {
  const n = from.length;
  if (to.length !== n) throw new Error(`thin-plate spline: ${n} source points but ${to.length} targets`);
  if (n < 3) throw new Error(`thin-plate spline: needs at least 3 control points, got ${n}`);
  const origin: Point = [from.reduce((s, p) => s + p[0], 0) / n, from.reduce((s, p) => s + p[1], 0) / n];
  const scale = Math.max(1e-9, ...from.map((p) => Math.max(Math.abs(p[0] - origin[0]), Math.abs(p[1] - origin[1]))));
  const centres = new Float64Array(2 * n);
  from.forEach((p, i) => {
    centres[2 * i] = (p[0] - origin[0]) / scale;
    centres[2 * i + 1] = (p[1] - origin[1]) / scale;
  });
  const size = n + 3;
  const system = new Float64Array(size * size);
  const rhs = new Float64Array(size * 2);
  for (let i = 0; i < n; i++) {
    const [xi, yi] = [centres[2 * i], centres[2 * i + 1]];
    for (let j = 0; j < n; j++) {
      const dx = xi - centres[2 * j];
      const dy = yi - centres[2 * j + 1];
      system[i * size + j] = kernel(dx * dx + dy * dy) + (i === j ? smoothing : 0);
    }
    const affineRow = [1, xi, yi];
    for (let k = 0; k < 3; k++) {
      system[i * size + n + k] = affineRow[k];
      system[(n + k) * size + i] = affineRow[k];
    }
    rhs[2 * i] = to[i][0];
    rhs[2 * i + 1] = to[i][1];
  }
  let solution: Float64Array;
  try {
    solution = solveLinear(system, rhs, size, 2);
  } catch {
    throw new Error('thin-plate spline: the control points are degenerate (all on one line, or repeated with smoothing 0)');
  }
  const affine = new Float64Array([solution[2 * n], solution[2 * n + 2], solution[2 * n + 4], solution[2 * n + 1], solution[2 * n + 3], solution[2 * n + 5]]);
  return { centres, weights: solution.slice(0, 2 * n), affine, origin, scale };
}

/** f(p) of a fitted spline. */
export function evaluateThinPlateSpline(spline: ThinPlateSpline, [px, py]: readonly [number, number]): Point {
  const { centres, weights, affine, origin, scale } = spline;
  const x = (px - origin[0]) / scale;
  const y = (py - origin[1]) / scale;
  let fx = affine[0] + affine[1] * x + affine[2] * y;
  let fy = affine[3] + affine[4] * x + affine[5] * y;
  for (let i = 0; i < centres.length; i += 2) {
    const dx = x - centres[i];
    const dy = y - centres[i + 1];
    const u = kernel(dx * dx + dy * dy);
    fx += weights[i] * u;
    fy += weights[i + 1] * u;
  }
  return [fx, fy];
}
