import type { LineFit } from './textlines';

/**
 * Line crops for the PaddleOCR direction classifier (input [N,3,48,192], (px/255 − 0.5)/0.5,
 * output softmax [N,2] = P(upright), P(upside down)), cut on the analysis threads.
 */
export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;
/** Floats in one crop (3 planes of CLS_HEIGHT × CLS_WIDTH). */
export const CLS_CROP_FLOATS = 3 * CLS_HEIGHT * CLS_WIDTH;

/** Crops per line, spread from its start to its end. */
export const CROPS_PER_LINE = 3;
/** Crop height as a multiple of the (shrunk) text region's height. */
const CROP_HEIGHT_RATIO = 3;

/** Channel `c` of the pixel at (x, y) of interleaved RGB, or white (255) outside the frame. */
function channelOrWhite(pixels: Uint8Array, width: number, height: number, x: number, y: number, c: number): number {
  return x >= 0 && y >= 0 && x < width && y < height ? pixels[(y * width + x) * 3 + c] : 255;
}

/**
 * Writes the bilinear sample at (x, y) of interleaved RGB, normalised ((v/255 − 0.5)/0.5 = v/127.5 − 1),
 * into `out` at `at`, `at + plane` and `at + 2·plane`; white outside the frame.
 */
function sampleInto(out: Float32Array, at: number, plane: number, pixels: Uint8Array, width: number, height: number, x: number, y: number): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const w00 = (1 - fx) * (1 - fy);
  const w10 = fx * (1 - fy);
  const w01 = (1 - fx) * fy;
  const w11 = fx * fy;
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
    // Inside the frame (nearly every sample): the three channels written out, no bounds tests.
    const p00 = (y0 * width + x0) * 3;
    const p01 = p00 + width * 3;
    out[at] = (pixels[p00] * w00 + pixels[p00 + 3] * w10 + pixels[p01] * w01 + pixels[p01 + 3] * w11) / 127.5 - 1;
    out[at + plane] = (pixels[p00 + 1] * w00 + pixels[p00 + 4] * w10 + pixels[p01 + 1] * w01 + pixels[p01 + 4] * w11) / 127.5 - 1;
    out[at + 2 * plane] = (pixels[p00 + 2] * w00 + pixels[p00 + 5] * w10 + pixels[p01 + 2] * w01 + pixels[p01 + 5] * w11) / 127.5 - 1;
    return;
  }
  for (let c = 0; c < 3; c++) {
    const v =
      channelOrWhite(pixels, width, height, x0, y0, c) * w00 +
      channelOrWhite(pixels, width, height, x0 + 1, y0, c) * w10 +
      channelOrWhite(pixels, width, height, x0, y0 + 1, c) * w01 +
      channelOrWhite(pixels, width, height, x0 + 1, y0 + 1, c) * w11;
    out[at + c * plane] = v / 127.5 - 1;
  }
}

/**
 * Straightened crops of `lines`, read in the direction of their points, as one classifier batch.
 * Each crop is a rectangle along the line's chord, CLS_HEIGHT tall and as wide as the line allows
 * up to CLS_WIDTH, zero-padded on the right.
 */
export function lineCrops(lines: LineFit[], pixels: Uint8Array, width: number, height: number): { data: Float32Array; count: number; widths: number[] } {
  const crops: Array<{ cx: number; cy: number; dx: number; dy: number; scale: number; w: number }> = [];
  for (const { line } of lines) {
    const [x0, y0] = line.points[0];
    const [x1, y1] = line.points[line.points.length - 1];
    const len = Math.hypot(x1 - x0, y1 - y0);
    const scale = CLS_HEIGHT / (line.height * CROP_HEIGHT_RATIO); // crop px per frame px
    const span = Math.min(len, CLS_WIDTH / scale);
    const w = Math.max(1, Math.min(CLS_WIDTH, Math.round(span * scale)));
    for (let k = 0; k < CROPS_PER_LINE; k++) {
      // Crops spread from the line's start to its end.
      const t = (span / 2 + (k * (len - span)) / (CROPS_PER_LINE - 1)) / len;
      crops.push({ cx: x0 + (x1 - x0) * t, cy: y0 + (y1 - y0) * t, dx: (x1 - x0) / len, dy: (y1 - y0) / len, scale, w });
    }
  }
  const plane = CLS_HEIGHT * CLS_WIDTH;
  const data = new Float32Array(crops.length * 3 * plane);
  // Each column's point on the crop's centre line (the chord's offset s along the line), once a
  // crop: a sample is then that point moved down the text by the row's offset t.
  const alongX = new Float64Array(CLS_WIDTH);
  const alongY = new Float64Array(CLS_WIDTH);
  for (let i = 0; i < crops.length; i++) {
    const { cx, cy, dx, dy, scale, w } = crops[i];
    // Down of the text: the reading direction turned 90° clockwise (image y points down).
    const nx = -dy;
    const ny = dx;
    for (let k = 0; k < w; k++) {
      const s = (k - w / 2) / scale;
      alongX[k] = cx + s * dx;
      alongY[k] = cy + s * dy;
    }
    const at = i * 3 * plane;
    for (let j = 0; j < CLS_HEIGHT; j++) {
      const t = (j - CLS_HEIGHT / 2) / scale;
      const downX = t * nx;
      const downY = t * ny;
      const row = at + j * CLS_WIDTH;
      for (let k = 0; k < w; k++) sampleInto(data, row + k, plane, pixels, width, height, alongX[k] + downX, alongY[k] + downY);
    }
    stretchContrast(data, at, plane, w);
  }
  return { data, count: crops.length, widths: crops.map((c) => c.w) };
}

/**
 * Writes crop `i` of `crops` turned by 180° into `out` as input `at` (CLS_CROP_FLOATS each): the
 * text in its first `widths[i]` columns turned, the padding left on the right, as a crop cut along
 * the line read backwards has it. The classifier reads a crop's turn to cancel the bias it has on
 * some scripts (blackletter reads as upside down both ways at analysis size): see `directionCrops`.
 */
export function writeTurned(crops: { data: Float32Array; widths: number[] }, i: number, out: Float32Array, at: number): void {
  const plane = CLS_HEIGHT * CLS_WIDTH;
  const w = crops.widths[i];
  const from = i * CLS_CROP_FLOATS;
  const to = at * CLS_CROP_FLOATS;
  for (let c = 0; c < 3; c++)
    for (let j = 0; j < CLS_HEIGHT; j++) {
      const src = from + c * plane + j * CLS_WIDTH;
      const dst = to + c * plane + (CLS_HEIGHT - 1 - j) * CLS_WIDTH + w - 1;
      for (let k = 0; k < w; k++) out[dst - k] = crops.data[src + k];
    }
}

/** The contrast normalisation of each crop (`stretchContrast`): the quantiles mapped to black and white, and the least spread stretched. */
export const CROP_CONTRAST = { low: 0.02, high: 0.98, minSpread: 0.08 };

/**
 * Contrast normalisation of one crop (its first `w` columns, all three planes, values in [−1, 1]):
 * the CROP_CONTRAST.low-th and high-th quantiles of its grey levels are mapped to black and white,
 * so that a dark, low-contrast scan (paper ≈ 100/255, ink ≈ 60) reads like a normal one to the
 * classifier. A crop whose quantiles are closer than CROP_CONTRAST.minSpread (blank paper) is left
 * as it is.
 */
export function stretchContrast(data: Float32Array, at: number, plane: number, w: number): void {
  // Quantiles from a 256-bin histogram of the grey levels (a sort per crop would cost more). A grey
  // level in [−1, 1] is bin (grey + 1)·127.5 in [0, 255], rounded half up without a branch (one a
  // pixel costs more than the rest of the loop): (b + 0.5) | 0 is Math.round(b) for every b the
  // mean of three float32 samples gives (it differs only at b = 0.5 − 2⁻⁵⁴).
  const hist = new Uint32Array(256);
  for (let j = 0; j < CLS_HEIGHT; j++) {
    const row = at + j * CLS_WIDTH;
    for (let p = row; p < row + w; p++) {
      const grey = (data[p] + data[p + plane] + data[p + 2 * plane]) / 3;
      hist[((grey + 1) * 127.5 + 0.5) | 0]++;
    }
  }
  const total = CLS_HEIGHT * w;
  const lo = quantileLevel(hist, CROP_CONTRAST.low * (total - 1));
  const hi = quantileLevel(hist, CROP_CONTRAST.high * (total - 1));
  if (hi - lo < CROP_CONTRAST.minSpread) return;
  const scale = 2 / (hi - lo);
  for (let c = 0; c < 3; c++)
    for (let j = 0; j < CLS_HEIGHT; j++) {
      const row = at + c * plane + j * CLS_WIDTH;
      for (let p = row; p < row + w; p++) data[p] = Math.max(-1, Math.min(1, (data[p] - lo) * scale - 1));
    }
}

/** The grey level (in [−1, 1]) of the first bin of `hist` whose running count exceeds `rank`; white when none does. */
function quantileLevel(hist: Uint32Array, rank: number): number {
  let acc = 0;
  for (let b = 0; b < 256; b++) if ((acc += hist[b]) > rank) return b / 127.5 - 1;
  return 1;
}
