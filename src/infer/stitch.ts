/** Grid geometry of a frame's patches (as in `PatchSet`). */
export interface PatchGrid {
  size: number;
  stride: number;
  cols: number;
  rows: number;
}

/** For each frame coordinate along one axis, the patch that owns it and the offset inside it. */
function owners(side: number, size: number, stride: number, count: number): { patch: Int32Array; offset: Int32Array } {
  const patch = new Int32Array(side);
  const offset = new Int32Array(side);
  const half = (size - stride) / 2;
  for (let x = 0; x < side; x++) {
    // The overlap between neighbours is split down its middle.
    const q = Math.max(0, Math.min(count - 1, Math.floor((x - half) / stride)));
    patch[x] = q;
    offset[x] = x - q * stride;
  }
  return { patch, offset };
}

/**
 * Stitches one-channel patch maps (patch after patch, each size×size, row-major grid; float or
 * byte values, kept as they are) into a float map of the frame's size. Where patches overlap, each pixel comes from the patch whose interior is nearer
 * (the overlap is cut in half), so no patch edge with its border effects reaches the result.
 */
export function stitchPatchMaps(maps: Float32Array | Uint8Array, grid: PatchGrid, width: number, height: number): Float32Array {
  const { size, stride, cols, rows } = grid;
  const xs = owners(width, size, stride, cols);
  const ys = owners(height, size, stride, rows);
  const out = new Float32Array(width * height);
  const plane = size * size;
  // Runs of x owned by one patch: each row is copied as a few contiguous slices.
  const runs: Array<{ x: number; end: number; patch: number; offset: number }> = [];
  for (let x = 0; x < width; x++) {
    const last = runs[runs.length - 1];
    if (last && last.patch === xs.patch[x]) last.end = x + 1;
    else runs.push({ x, end: x + 1, patch: xs.patch[x], offset: xs.offset[x] });
  }
  for (let y = 0; y < height; y++) {
    const rowBase = ys.patch[y] * cols;
    const inner = ys.offset[y] * size;
    for (const { x, end, patch, offset } of runs) {
      const from = (rowBase + patch) * plane + inner + offset;
      out.set(maps.subarray(from, from + end - x), y * width + x);
    }
  }
  return out;
}

/** A frame's probability map from its byte patch maps (255·p, as byte models give them): stitched, then byte / 255. */
export function stitchProbabilities(maps: Uint8Array, grid: PatchGrid, width: number, height: number): Float32Array {
  const prob = stitchPatchMaps(maps, grid, width, height);
  for (let i = 0; i < prob.length; i++) prob[i] /= 255;
  return prob;
}
