import type { LineFit } from './textlines';

/**
 * Line crops for the PaddleOCR direction classifier (input [N,3,48,192], (px/255 − 0.5)/0.5,
 * output softmax [N,2] = P(upright), P(upside down)).
 */
export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;

/** Lines sampled per page and crops per line. */
const MAX_LINES = 10;
const CROPS_PER_LINE = 3;
/** Crop height as a multiple of the (shrunk) text region's height. */
const CROP_HEIGHT_RATIO = 3;

/** Bilinear sample of channel c of interleaved RGB at (x, y); white outside the frame. */
function sample(pixels: Uint8Array, width: number, height: number, x: number, y: number, c: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= width || yy >= height ? 255 : pixels[(yy * width + xx) * 3 + c]);
  return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}

/**
 * Straightened crops of the longest lines, read in the direction of their points, as one
 * classifier batch. Each crop is a rectangle along the line's chord, CLS_HEIGHT tall and as wide as
 * the line allows up to CLS_WIDTH, zero-padded on the right.
 */
export function lineCrops(lines: LineFit[], pixels: Uint8Array, width: number, height: number): { data: Float32Array; count: number } {
  const chosen = [...lines].sort((a, b) => b.length - a.length).slice(0, MAX_LINES);
  const crops: Array<{ cx: number; cy: number; dx: number; dy: number; scale: number; w: number }> = [];
  for (const { line } of chosen) {
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
        for (let c = 0; c < 3; c++) data[(i * 3 + c) * plane + j * CLS_WIDTH + k] = (sample(pixels, width, height, x, y, c) / 255 - 0.5) / 0.5;
      }
    }
  });
  return { data, count: crops.length };
}

/** Whether the crops read upside down: the mean P(180) over the batch is above one half. */
export function upsideDown(softmax: Float32Array, count: number): boolean {
  if (count === 0) return false;
  let p180 = 0;
  for (let i = 0; i < count; i++) p180 += softmax[2 * i + 1];
  return p180 / count > 0.5;
}
