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
 * Tiles an interleaved RGB frame into CHW byte patches, patch after patch in row-major grid order;
 * pixels beyond the frame edge are white. The model takes these bytes as they are (its
 * normalisation is inside the graph, see `byteAdapter`), a quarter of what float32 patches take.
 */
export function tilePatches(pixels: Uint8Array, width: number, height: number, layout: PatchLayout): PatchSet {
  const { patchSize: size, overlap } = layout;
  if (!(size > 0) || overlap < 0 || overlap >= size) throw new Error(`bad patch layout: size ${size}, overlap ${overlap}`);
  if (pixels.length < width * height * 3) throw new Error(`pixel buffer holds ${pixels.length} bytes, need ${width * height * 3}`);
  const stride = size - overlap;
  const cols = patchesAlong(width, size, stride);
  const rows = patchesAlong(height, size, stride);
  const count = cols * rows;
  const plane = size * size;
  const data = new Uint8Array(count * 3 * plane).fill(255);
  // Each pixel is read once and written to its three planes; the rest of a patch stays white.
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < cols; q++) {
      const base = (r * cols + q) * 3 * plane;
      const x0 = q * stride;
      const y0 = r * stride;
      const w = Math.max(0, Math.min(size, width - x0));
      const h = Math.max(0, Math.min(size, height - y0));
      for (let y = 0; y < h; y++) {
        let out = base + y * size;
        let src = ((y0 + y) * width + x0) * 3;
        for (let x = 0; x < w; x++, out++, src += 3) {
          data[out] = pixels[src];
          data[out + plane] = pixels[src + 1];
          data[out + 2 * plane] = pixels[src + 2];
        }
      }
    }
  }
  return { size, stride, cols, rows, count, data };
}
