import type { Vec } from './geometry';
import { LINE_TUNING } from './tuning';

/**
 * Step 4 of the text-line analysis: the projection-profile skew search over the measured lines'
 * ink — the tilt at which the ink's profile across the lines is sharpest.
 */

/** The `count` pixels of the kept components as (u, v, probability) triples, centred on their mean. */
export function inkOf(prob: Float32Array, labels: Int32Array, width: number, e: Vec, n: Vec, keep: Array<unknown>, count: number): Float32Array {
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
 * point, by the point's offset within its bin (KERNEL_STEPS steps). A linear split (two bins) makes
 * the profile of pixel-aligned rows sharper than that of any tilted ones, which pulls the search to
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
 * Sharpness of the ink's profile across lines at each skew of `degs`: the sum of squares of its
 * histogram along the direction perpendicular to lines at that skew (1 px bins, each point spread
 * by `KERNEL`). It peaks when the bins line up with the text lines. Each histogram spans the
 * projection of the ink's box. One pass over the ink fills every skew's histogram (each point read
 * once, not once a skew; each bin sums its points in the same order as a pass per skew would).
 */
function profileSharpness(ink: Float32Array, box: InkBox, degs: number[]): Float64Array {
  const m = degs.length;
  const cos = new Float64Array(m);
  const sin = new Float64Array(m);
  const lows = new Float64Array(m);
  /** Where each skew's histogram starts in `bins` (and the last one ends). */
  const starts = new Int32Array(m + 1);
  // Plain scalars, a plain loop and the kernel in a local: with a closure or destructuring in this
  // function, or the module's KERNEL read in the loop, V8 compiled the ink loop below ~13 % slower.
  for (let j = 0; j < m; j++) {
    const a = (degs[j] * Math.PI) / 180;
    const c = Math.cos(a);
    const s = Math.sin(a);
    const c0 = box.vMin * c - box.uMin * s;
    const c1 = box.vMin * c - box.uMax * s;
    const c2 = box.vMax * c - box.uMin * s;
    const c3 = box.vMax * c - box.uMax * s;
    const lo = Math.min(c0, c1, c2, c3) - 1;
    cos[j] = c;
    sin[j] = s;
    lows[j] = lo;
    starts[j + 1] = starts[j] + Math.ceil(Math.max(c0, c1, c2, c3) - lo) + 4;
  }
  const bins = new Float64Array(starts[m]);
  const kernel = KERNEL;
  for (let i = 0; i < ink.length; i += 3) {
    const u = ink[i];
    const vIn = ink[i + 1];
    const w = ink[i + 2];
    for (let j = 0; j < m; j++) {
      const v = vIn * cos[j] - u * sin[j] - lows[j];
      const b = v | 0; // v ≥ 1: the box's projection starts at lo + 1
      const k = 4 * (((v - b) * KERNEL_STEPS) | 0);
      const at = starts[j] + b;
      bins[at - 1] += w * kernel[k];
      bins[at] += w * kernel[k + 1];
      bins[at + 1] += w * kernel[k + 2];
      bins[at + 2] += w * kernel[k + 3];
    }
  }
  const sums = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let sum = 0;
    for (let at = starts[j]; at < starts[j + 1]; at++) sum += bins[at] * bins[at];
    sums[j] = sum;
  }
  return sums;
}

/** Every `n`th (u, v, probability) triple of the ink. */
function everyNth(ink: Float32Array, n: number): Float32Array {
  const out = new Float32Array(3 * Math.ceil(ink.length / (3 * n)));
  for (let i = 0, j = 0; i < ink.length; i += 3 * n, j += 3) {
    out[j] = ink[i];
    out[j + 1] = ink[i + 1];
    out[j + 2] = ink[i + 2];
  }
  return out;
}

/**
 * The skew within ±`span`° of `around` whose profile is sharpest, coarse to fine
 * (LINE_TUNING.projectionSteps, to ~0.005°). The coarsest step scores every
 * LINE_TUNING.coarseSample-th ink pixel; the finer steps score all of them.
 */
export function projectionSkew(ink: Float32Array, around: number, span: number = LINE_TUNING.projectionSpanDeg): number {
  const box = inkBox(ink);
  const coarse = everyNth(ink, LINE_TUNING.coarseSample);
  let best = around;
  LINE_TUNING.projectionSteps.forEach((step, i) => {
    const centre = best;
    const scored = i === 0 ? coarse : ink;
    const degs: number[] = [];
    for (let d = centre - span; d <= centre + span + 1e-9; d += step) degs.push(d);
    const scores = profileSharpness(scored, box, degs);
    let bestScore = -1;
    degs.forEach((d, j) => {
      if (scores[j] > bestScore) { bestScore = scores[j]; best = d; }
    });
    span = step;
  });
  return best;
}
