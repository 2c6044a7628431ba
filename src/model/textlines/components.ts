import type { Vec } from './geometry';

/**
 * Step 1 of the text-line analysis: the connected components of the thresholded probability map,
 * their moments in a frame, which axis they (or the map's profiles) say the lines run along, and
 * the centre path of each line-shaped one.
 */

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

/** Per-component sums in a frame (e, n): weight, u/v moments and extent along u. */
export interface Sums { area: number; w: number; u: number; v: number; uu: number; uv: number; vv: number; uMin: number; uMax: number }

export function componentSums(prob: Float32Array, labels: Int32Array, count: number, width: number, e: Vec, n: Vec): Sums[] {
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
 * clearly: |alongX − alongY| / (alongX + alongY). `sums` are measured along x.
 */
export function dominantAxis(sums: Sums[]): { axis: 0 | 90; agreement: number } {
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
  const alongX = modulation(rows); // lines along x modulate the row profile
  const alongY = modulation(cols);
  if (alongX === 0 && alongY === 0) return { axis: 0, ratio: 1 };
  return alongY > alongX ? { axis: 90, ratio: alongY / Math.max(alongX, 1e-12) } : { axis: 0, ratio: alongX / Math.max(alongY, 1e-12) };
}

/** How much a profile rises and falls from bin to bin: Σ(P[i+1] − P[i])² / ΣP[i]² (0 when empty). */
export function modulation(h: Float64Array): number {
  let diff = 0;
  let sq = 0;
  for (let i = 0; i < h.length; i++) {
    sq += h[i] * h[i];
    if (i > 0) diff += (h[i] - h[i - 1]) ** 2;
  }
  return sq > 0 ? diff / sq : 0;
}

/** A kept component's centre-path bins along u: (Σ probability, Σ probability·v) per bin. */
export interface PathBins { binW: number; uMin: number; bins: Float64Array }

/** Centre path of each kept component (`keep[label]`): probability-weighted mean v per bin along u. */
export function centrePaths(prob: Float32Array, labels: Int32Array, width: number, e: Vec, n: Vec, keep: Array<PathBins | undefined>): void {
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
