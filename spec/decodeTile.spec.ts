import fc from 'fast-check';
import { tilePatches, type PatchLayout } from '../src/decode/tile';

const layout: PatchLayout = { patchSize: 4, overlap: 1, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 1] };

/** The byte tilePatches should put at (x, y) of patch (col, row), channel c. */
function expected(pixels: Uint8Array, width: number, height: number, col: number, row: number, x: number, y: number, c: number): number {
  const sx = col * 3 + x;
  const sy = row * 3 + y;
  return sx < width && sy < height ? pixels[(sy * width + sx) * 3 + c] : 255;
}

describe('tilePatches', () => {
  it('lays patches on a stride grid, CHW bytes, white beyond the edges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 0, max: 1e6 }), (width, height, seed) => {
        const pixels = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37 + seed) % 256);
        const set = tilePatches(pixels, width, height, layout);
        const along = (side: number) => (side <= 4 ? 1 : Math.ceil((side - 4) / 3) + 1);
        expect([set.size, set.stride, set.cols, set.rows]).toEqual([4, 3, along(width), along(height)]);
        expect(set.count).toBe(set.cols * set.rows);
        expect(set.data.length).toBe(set.count * 3 * 16);
        for (let row = 0; row < set.rows; row++)
          for (let col = 0; col < set.cols; col++)
            for (let c = 0; c < 3; c++)
              for (let y = 0; y < 4; y++)
                for (let x = 0; x < 4; x++) {
                  const got = set.data[(((row * set.cols + col) * 3 + c) * 4 + y) * 4 + x];
                  expect(got).toBe(expected(pixels, width, height, col, row, x, y, c));
                }
        // The grid covers the frame.
        expect((set.cols - 1) * 3 + 4).toBeGreaterThanOrEqual(width);
        expect((set.rows - 1) * 3 + 4).toBeGreaterThanOrEqual(height);
      }),
      { numRuns: 60 },
    );
  });

  it('makes one padded patch of a frame smaller than a patch', () => {
    const set = tilePatches(new Uint8Array([0, 0, 0]), 1, 1, layout);
    expect(set.count).toBe(1);
    expect(set.data[0]).toBe(0);
    expect(set.data[1]).toBe(255);
  });

  it('rejects a buffer too small for the frame and a bad layout', () => {
    expect(() => tilePatches(new Uint8Array(5), 2, 1, layout)).toThrow(/need 6/);
    expect(() => tilePatches(new Uint8Array(3), 1, 1, { ...layout, overlap: 4 })).toThrow(/bad patch layout/);
  });
});
