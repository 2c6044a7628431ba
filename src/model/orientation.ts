import type { LineFit } from './textlines';

/**
 * Line crops for the PaddleOCR direction classifier (input [N,3,48,192], (px/255 − 0.5)/0.5,
 * output softmax [N,2] = P(upright), P(upside down)).
 */
export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;

/** Lines sampled per page, lines in the first round, and crops per line. */
const MAX_LINES = 10;
const FIRST_ROUND_LINES = 4;
const CROPS_PER_LINE = 3;
/** Crop height as a multiple of the (shrunk) text region's height. */
const CROP_HEIGHT_RATIO = 3;

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
  const p00 = (y0 * width + x0) * 3;
  const p01 = p00 + width * 3;
  if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[p00 + c] * w00 + pixels[p00 + 3 + c] * w10 + pixels[p01 + c] * w01 + pixels[p01 + 3 + c] * w11;
      out[at + c * plane] = v / 127.5 - 1;
    }
    return;
  }
  const px = (xx: number, yy: number, c: number) => (xx >= 0 && yy >= 0 && xx < width && yy < height ? pixels[(yy * width + xx) * 3 + c] : 255);
  for (let c = 0; c < 3; c++) {
    const v = px(x0, y0, c) * w00 + px(x0 + 1, y0, c) * w10 + px(x0, y0 + 1, c) * w01 + px(x0 + 1, y0 + 1, c) * w11;
    out[at + c * plane] = v / 127.5 - 1;
  }
}

/**
 * Straightened crops of `lines`, read in the direction of their points, as one classifier batch.
 * Each crop is a rectangle along the line's chord, CLS_HEIGHT tall and as wide as the line allows
 * up to CLS_WIDTH, zero-padded on the right.
 */
export function lineCrops(lines: LineFit[], pixels: Uint8Array, width: number, height: number): { data: Float32Array; count: number } {
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
  crops.forEach((crop, i) => {
    // Down of the text: the reading direction turned 90° clockwise (image y points down).
    const nx = -crop.dy;
    const ny = crop.dx;
    for (let j = 0; j < CLS_HEIGHT; j++) {
      for (let k = 0; k < crop.w; k++) {
        const s = (k - crop.w / 2) / crop.scale;
        const t = (j - CLS_HEIGHT / 2) / crop.scale;
        const x = crop.cx + s * crop.dx + t * nx;
        const y = crop.cy + s * crop.dy + t * ny;
        sampleInto(data, i * 3 * plane + j * CLS_WIDTH + k, plane, pixels, width, height, x, y);
      }
    }
  });
  return { data, count: crops.length };
}

/** How far from ½ the first round's mean P(180) must be to decide alone. */
const DECISIVE = 0.3;

/** Runs the classifier on `count` crops (CHW, consecutive) and returns their softmax [count, 2]. */
export type CropClassifier = (data: Float32Array, count: number) => Promise<Float32Array>;

/** Σ P(upside down) over a softmax batch. */
function sumP180(softmax: Float32Array, count: number): number {
  let p180 = 0;
  for (let i = 0; i < count; i++) p180 += softmax[2 * i + 1];
  return p180;
}

/**
 * Whether the page's longest lines read upside down: their crops' mean P(180) is above one half.
 * The crops of the FIRST_ROUND_LINES longest go first; the next lines' are cut and classified only
 * when those leave it open.
 */
export async function readsUpsideDown(lines: LineFit[], pixels: Uint8Array, width: number, height: number, classify: CropClassifier): Promise<boolean> {
  const longest = [...lines].sort((a, b) => b.length - a.length).slice(0, MAX_LINES);
  let p180 = 0;
  let count = 0;
  for (const round of [longest.slice(0, FIRST_ROUND_LINES), longest.slice(FIRST_ROUND_LINES)]) {
    if (round.length === 0) break;
    const crops = lineCrops(round, pixels, width, height);
    p180 += sumP180(await classify(crops.data, crops.count), crops.count);
    count += crops.count;
    if (Math.abs(p180 / count - 0.5) >= DECISIVE) break;
  }
  return count > 0 && p180 / count > 0.5;
}
