/** An interleaved 8-bit RGB raster. `pixels` holds at least width × height × 3 bytes. */
export interface RgbImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** A white image of the given size. */
export function whiteImage(width: number, height: number): RgbImage {
  return { width, height, pixels: new Uint8Array(width * height * 3).fill(255) };
}

/**
 * Copies `src` into `dst` with its top-left corner at (left, top) of `dst`; what falls outside
 * `dst` is dropped.
 */
export function paste(dst: RgbImage, src: RgbImage, left: number, top: number): void {
  const x0 = Math.max(0, left);
  const x1 = Math.min(dst.width, left + src.width);
  if (x1 <= x0) return;
  for (let y = Math.max(0, top); y < Math.min(dst.height, top + src.height); y++) {
    const from = ((y - top) * src.width + (x0 - left)) * 3;
    dst.pixels.set(src.pixels.subarray(from, from + (x1 - x0) * 3), (y * dst.width + x0) * 3);
  }
}
