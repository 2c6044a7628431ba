import { stitchPatchMaps } from '../src/infer/stitch';
import { shapeFor } from '../src/infer/batchShapes';
import { bowPx, chordDeviation, estimateSkew, findTextLines, summarizeGeometry } from '../src/model/textlines';

const W = 600;
const H = 500;

/** How the lines of a test map are broken: a blank gap across the middle, the right half shifted. */
interface Break {
  gapPx: number;
  /** Shift of the right half across the lines (px). */
  stepPx?: number;
}

/**
 * A probability map of text lines: bands 6 px thick, 40 px apart, running at `angleDeg` clockwise
 * from +x (image y down), each bowed by `bowPx` in the middle, with soft 1 px edges; optionally
 * cut in two (`cut`) the way a column gutter or a wide gap cuts them.
 */
function linesMap(angleDeg: number, bowPx = 0, cut?: Break): Float32Array {
  const prob = new Float32Array(W * H);
  const a = (angleDeg * Math.PI) / 180;
  const [ex, ey] = [Math.cos(a), Math.sin(a)];
  const [nx, ny] = [-ey, ex];
  const [cx, cy] = [W / 2, H / 2];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const u = (x - cx) * ex + (y - cy) * ey;
      if (Math.abs(u) > 180 || (cut && Math.abs(u) < cut.gapPx / 2)) continue;
      const step = cut?.stepPx && u > 0 ? cut.stepPx : 0;
      const v = (x - cx) * nx + (y - cy) * ny + bowPx * Math.cos((Math.PI * u) / 360) - step;
      const d = Math.abs(v - 40 * Math.round(v / 40));
      if (Math.abs(v) < 170) prob[y * W + x] = Math.max(0, Math.min(1, 3.5 - d));
    }
  return prob;
}

describe('text-line geometry', () => {
  it.each([0, 3.7, -12.3, 14.9])('measures the skew of straight lines at %p°', (angle) => {
    const geometry = findTextLines(linesMap(angle), W, H);
    expect(geometry.baseOrientation).toBe(0);
    expect(geometry.lines.length).toBe(9);
    const { skewDeg, confidence } = estimateSkew(geometry.lines);
    expect(Math.abs(skewDeg - angle)).toBeLessThan(0.05);
    expect(confidence).toBeGreaterThan(0.9);
    for (const { line } of geometry.lines) expect(line.curvaturePx).toBeLessThan(1);
  });

  it('sees lines running down the page as orientation 90, with the skew of the upright page', () => {
    // Upright page skewed by +5°, then turned 90° clockwise: lines run at 95°.
    const summary = summarizeGeometry(findTextLines(linesMap(95), W, H), W, H, false);
    expect(summary.orientationDeg).toBe(90);
    expect(summary.skewDeg).toBeCloseTo(5, 1);
    const { points } = summary.lines[0];
    expect(points[points.length - 1][1]).toBeGreaterThan(points[0][1]);
  });

  it('turns the base orientation by 180° and reverses the reading direction when flipped', () => {
    const geometry = findTextLines(linesMap(2), W, H);
    const upright = summarizeGeometry(geometry, W, H, false);
    const flipped = summarizeGeometry(geometry, W, H, true);
    expect(flipped.orientationDeg).toBe(180);
    expect(flipped.skewDeg).toBeCloseTo(upright.skewDeg, 10);
    expect(flipped.lines[0].points[0]).toEqual(upright.lines[0].points[upright.lines[0].points.length - 1]);
    expect(flipped.lines[0].angleDeg).toBeCloseTo(upright.lines[0].angleDeg - 180, 10);
  });

  it('measures bowed lines as curved, by about the bow', () => {
    const summary = summarizeGeometry(findTextLines(linesMap(0, 12), W, H), W, H, false);
    expect(summary.curvaturePx).toBeGreaterThan(9);
    expect(summary.curvaturePx).toBeLessThan(14);
    expect(summary.textCoverage).toBeGreaterThan(0);
  });

  it.each([0, 12])('chains the two halves of bowed lines cut by a gutter into whole lines, at %p°', (angle) => {
    const geometry = findTextLines(linesMap(angle, 10, { gapPx: 40 }), W, H);
    expect(geometry.fragments.length).toBe(18);
    expect(geometry.lines.length).toBe(9);
    for (const { length } of geometry.lines) expect(length).toBeGreaterThan(340);
    const summary = summarizeGeometry(geometry, W, H, false);
    expect(summary.curvaturePx).toBeGreaterThan(7);
    expect(summary.curvaturePx).toBeLessThan(12);
    expect(summary.skewDeg).toBeCloseTo(angle, 1);
    expect(summary.confidence).toBeGreaterThan(0.9);
  });

  it('keeps halves apart whose paths do not meet across the gap', () => {
    // Right halves shifted by half a line pitch: each half continues no line of the other side.
    const geometry = findTextLines(linesMap(0, 0, { gapPx: 40, stepPx: 20 }), W, H);
    expect(geometry.lines.length).toBe(geometry.fragments.length);
    expect(geometry.lines.length).toBeGreaterThanOrEqual(17);
  });

  it.each([0.35, -0.6])('is not pulled to exactly 0° by the pixel grid near upright, at %p°', (angle) => {
    const { skewDeg } = summarizeGeometry(findTextLines(linesMap(angle), W, H), W, H, false);
    expect(Math.abs(skewDeg - angle)).toBeLessThan(0.02);
  });

  it('refines the skew on the page’s own ink, not the map’s blobs, given the pixels', () => {
    // A detector's blobs of a tilted line are less tilted than its glyphs: the map at 9.75°, the
    // page's dark lines (3 px, on the map's line centres) at 10°.
    const pixels = new Uint8Array(3 * W * H).fill(230);
    const a = (10 * Math.PI) / 180;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const u = (x - W / 2) * Math.cos(a) + (y - H / 2) * Math.sin(a);
        const v = -(x - W / 2) * Math.sin(a) + (y - H / 2) * Math.cos(a);
        if (Math.abs(u) <= 180 && Math.abs(v) < 170 && Math.abs(v - 40 * Math.round(v / 40)) < 1.5) pixels.fill(40, 3 * (y * W + x), 3 * (y * W + x) + 3);
      }
    const map = linesMap(9.75);
    const skewOf = (page?: Uint8Array) => summarizeGeometry(findTextLines(map, W, H, page), W, H, false).skewDeg;
    expect(Math.abs(skewOf() - 9.75)).toBeLessThan(0.05);
    expect(Math.abs(skewOf(pixels) - 10)).toBeLessThan(0.05);
    // A page without contrast leaves the map's reading as it is.
    expect(skewOf(new Uint8Array(3 * W * H).fill(128))).toBe(skewOf());
  });

  it('reads a page whose lines fan out (photographed at a slant) by the fan’s angle at the frame’s centre, sure of it', () => {
    // Twelve lines 36 px apart, tilted by 1.5° at the centre and by 0.02° more each px below it
    // (perspective toward a vanishing point on the right): −2.5° at the top, +5.5° at the bottom.
    const [tilt, perPx] = [1.5, 0.02];
    const map = new Float32Array(W * H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const a = (tilt * Math.PI) / 180;
        const u = (x - W / 2) * Math.cos(a) + (y - H / 2) * Math.sin(a);
        const v = -(x - W / 2) * Math.sin(a) + (y - H / 2) * Math.cos(a);
        if (Math.abs(u) > 180) continue;
        for (let i = 0; i < 12; i++) {
          const at = 36 * i - 198;
          const d = Math.abs(v - at - u * Math.tan((perPx * at * Math.PI) / 180));
          if (d < 3.5) map[y * W + x] = Math.max(map[y * W + x], Math.min(1, 3.5 - d));
        }
      }
    const geometry = findTextLines(map, W, H);
    expect(geometry.lines).toHaveLength(12);
    const summary = summarizeGeometry(geometry, W, H, false);
    expect(Math.abs(summary.skewDeg - tilt)).toBeLessThan(0.1);
    expect(summary.confidence).toBeGreaterThan(0.9);
    // Read as parallel lines, no angle is shared by enough of them.
    expect(estimateSkew(geometry.lines, geometry.ink).confidence).toBeLessThan(0.3);
  });

  it('reads a page its lines cannot measure by the profile of its darkest pixels', () => {
    // The detector found two short lines, at 5°; the page's rules (2 px, every 14 px, across the
    // whole frame) run at 4°.
    const [lines, rules] = [(5 * Math.PI) / 180, (4 * Math.PI) / 180];
    const map = new Float32Array(W * H);
    const pixels = new Uint8Array(3 * W * H).fill(235);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const u = (x - W / 2) * Math.cos(lines) + (y - H / 2) * Math.sin(lines);
        const v = -(x - W / 2) * Math.sin(lines) + (y - H / 2) * Math.cos(lines);
        if (Math.abs(u) < 100 && (Math.abs(v) < 3 || Math.abs(v - 60) < 3)) map[y * W + x] = 1;
        const r = -(x - W / 2) * Math.sin(rules) + (y - H / 2) * Math.cos(rules);
        if (Math.abs(r - 14 * Math.round(r / 14)) < 1) pixels.fill(30, 3 * (y * W + x), 3 * (y * W + x) + 3);
      }
    const geometry = findTextLines(map, W, H, pixels);
    const summary = summarizeGeometry(geometry, W, H, false);
    expect(summary.confidence).toBeLessThan(0.55);
    expect(Math.abs(summary.skewDeg - 4)).toBeLessThan(0.05);
    // The lines' own reading (the page's ink near them refines it by at most 0.4°) is off.
    expect(Math.abs(estimateSkew(geometry.lines, geometry.ink, geometry.glyphInk).skewDeg - 4)).toBeGreaterThan(0.3);
  });

  it('reads the axis off the page’s own ink where the detector’s components leave it open', () => {
    // Glyph-sized blobs, as many along x (9×3) as along y (3×9): the components agree on no axis.
    const map = new Float32Array(W * H);
    for (let by = 0, k = 0; by + 12 < H; by += 20)
      for (let bx = 0; bx + 12 < W; bx += 20, k++) {
        const [bw, bh] = k % 2 ? [9, 3] : [3, 9];
        for (let y = by; y < by + bh; y++) map.fill(1, y * W + bx, y * W + bx + bw);
      }
    // The page's dark lines run along y, 3 px wide every 20 px.
    const pixels = new Uint8Array(3 * W * H).fill(230);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (x % 20 < 3) pixels.fill(40, 3 * (y * W + x), 3 * (y * W + x) + 3);
    expect(findTextLines(map, W, H).axisAgreement).toBeLessThan(0.3);
    expect(findTextLines(map, W, H).baseOrientation).toBe(0);
    expect(findTextLines(map, W, H, pixels).baseOrientation).toBe(90);
    // Lines the components agree on are not overruled by the page's profiles.
    expect(findTextLines(linesMap(0), W, H, pixels).baseOrientation).toBe(0);
  });

  it('does not chain halves too far apart along the line', () => {
    const geometry = findTextLines(linesMap(0, 0, { gapPx: 240 }), W, H);
    expect(geometry.lines.length).toBe(18);
  });

  it('measures a path’s bow as that of its fitted parabola, ignoring a small jog', () => {
    const parabola = Array.from({ length: 21 }, (_, i): [number, number] => [i * 10, 0.01 * (i * 10 - 100) ** 2]);
    expect(bowPx(parabola)).toBeCloseTo(100, 6);
    const jogged = Array.from({ length: 21 }, (_, i): [number, number] => [i * 10, i >= 10 ? 2 : 0]);
    expect(chordDeviation(jogged)).toBeGreaterThan(0.9);
    expect(bowPx(jogged)).toBeLessThan(0.5);
  });

  it('finds no lines and no confidence on an empty map', () => {
    const summary = summarizeGeometry(findTextLines(new Float32Array(W * H), W, H), W, H, false);
    expect([summary.textLines, summary.confidence, summary.skewDeg, summary.curvaturePx]).toEqual([0, 0, 0, 0]);
  });

  it('measures a path’s largest distance from its chord', () => {
    expect(chordDeviation([[0, 0], [5, 3], [10, 0]])).toBe(3);
  });
});

describe('stitchPatchMaps', () => {
  it('puts a map cut into overlapping patches back together exactly', () => {
    const [width, height, size, stride] = [23, 17, 8, 6];
    const map = Float32Array.from({ length: width * height }, (_, i) => i);
    const cols = Math.ceil((width - size) / stride) + 1;
    const rows = Math.ceil((height - size) / stride) + 1;
    const maps = new Float32Array(cols * rows * size * size).fill(-1);
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const [sx, sy] = [c * stride + x, r * stride + y];
            if (sx < width && sy < height) maps[(r * cols + c) * size * size + y * size + x] = map[sy * width + sx];
          }
    expect(stitchPatchMaps(maps, { size, stride, cols, rows }, width, height)).toEqual(map);
  });
});

describe('batch shapes', () => {
  it('runs every batch on CUDA at the one warmed-up shape, batchSize (a new shape costs a re-plan)', () => {
    expect([1, 2, 3, 5, 6].map((n) => shapeFor(n, 6, 'cuda'))).toEqual([6, 6, 6, 6, 6]);
  });

  it('runs partial batches on the CPU at their own size (no padding computed)', () => {
    expect([1, 2, 3, 5, 6].map((n) => shapeFor(n, 6, 'cpu'))).toEqual([1, 2, 3, 5, 6]);
  });
});
