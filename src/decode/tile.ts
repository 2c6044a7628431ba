import type { PatchSet } from '../types';

/** How a model wants its input: square patches with overlap, normalised per channel. */
export interface PatchLayout {
  patchSize: number;
  overlap: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** Patches along one axis: one if the side fits in a patch, else enough to cover it at `stride`. */
function patchesAlong(side: number, size: number, stride: number): number {
  return side <= size ? 1 : Math.ceil((side - size) / stride) + 1;
}

/**
 * Tiles an interleaved RGB frame into normalised float32 CHW patches, patch after patch in
 * row-major grid order. Each value is (px/255 − mean)/std; pixels beyond the frame edge are white.
 */
export function tilePatches(pixels: Uint8Array, width: number, height: number, layout: PatchLayout): PatchSet {
  const { patchSize: size, overlap, mean, std } = layout;
  if (!(size > 0) || overlap < 0 || overlap >= size) throw new Error(`bad patch layout: size ${size}, overlap ${overlap}`);
  if (pixels.length < width * height * 3) throw new Error(`pixel buffer holds ${pixels.length} bytes, need ${width * height * 3}`);
  const stride = size - overlap;
  const cols = patchesAlong(width, size, stride);
  const rows = patchesAlong(height, size, stride);
  const count = cols * rows;
  const plane = size * size;
  const data = new Float32Array(count * 3 * plane);
  // Lookup tables: normalised value of each byte per channel.
  const [red, green, blue] = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean[c]) / std[c]));
  // Each pixel is read once and written to its three planes; the rest of a patch stays white.
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const base = (r * cols + q) * 3 * plane;
      data.fill(red[255], base, base + plane);
      data.fill(green[255], base + plane, base + 2 * plane);
      data.fill(blue[255], base + 2 * plane, base + 3 * plane);
      const x0 = q * stride;
      const y0 = r * stride;
      const w = Math.max(0, Math.min(size, width - x0));
      const h = Math.max(0, Math.min(size, height - y0));
      for (let y = 0; y < h; y++) {
        let out = base + y * size;
        let src = ((y0 + y) * width + x0) * 3;
        for (let x = 0; x < w; x++, out++, src += 3) {
          data[out] = red[pixels[src]];
          data[out + plane] = green[pixels[src + 1]];
          data[out + 2 * plane] = blue[pixels[src + 2]];
        }
      }
    }
  }
  return { size, stride, cols, rows, count, data };
}
