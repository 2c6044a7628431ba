import sharp from 'sharp';
import { renderSyntheticPage } from '../src/synth/pages';
import { correctPage } from '../src/transform/correct';
import { RgbImage } from '../src/transform/image';
import { solveLinear } from '../src/transform/linearSolve';
import { RotateBackend, planRotation, rotateImage, rotatePoint, rotateTextLines } from '../src/transform/rotate';
import { evaluateThinPlateSpline, fitThinPlateSpline, Point } from '../src/transform/thinPlateSpline';
import { dewarpImage, dewarpPoint, planDewarp } from '../src/transform/tps';
import type { TextLine } from '../src/types';

const BACKENDS: RotateBackend[] = ['sharp', 'opencv'];

async function decode(encoded: Buffer | string): Promise<RgbImage> {
  const { data, info } = await sharp(typeof encoded === 'string' ? Buffer.from(encoded) : encoded)
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}

/** Darkness (255 − red) of a pixel. */
const dark = (image: RgbImage, x: number, y: number) => 255 - image.pixels[(y * image.width + x) * 3];

/** Darkness-weighted centroid and principal-axis angle (degrees, clockwise positive) of an image. */
function darkMoments(image: RgbImage): { cx: number; cy: number; angleDeg: number } {
  let [w, sx, sy, sxx, syy, sxy] = [0, 0, 0, 0, 0, 0];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const v = dark(image, x, y);
      if (v < 32) continue;
      w += v; sx += v * x; sy += v * y; sxx += v * x * x; syy += v * y * y; sxy += v * x * y;
    }
  }
  const [cx, cy] = [sx / w, sy / w];
  const [vxx, vyy, vxy] = [sxx / w - cx * cx, syy / w - cy * cy, sxy / w - cx * cy];
  return { cx, cy, angleDeg: (0.5 * Math.atan2(2 * vxy, vxx - vyy) * 180) / Math.PI };
}

/** Coefficient of variation of the dark-pixel counts of the rows between the first and last inked row: high when text lines are level. */
function rowProfileSharpness(image: RgbImage): number {
  const rows = Array.from({ length: image.height }, (_, y) => {
    let n = 0;
    for (let x = 0; x < image.width; x++) if (dark(image, x, y) > 128) n++;
    return n;
  });
  const inked = rows.slice(rows.findIndex((n) => n > 0), rows.length - [...rows].reverse().findIndex((n) => n > 0));
  const mean = inked.reduce((s, n) => s + n, 0) / inked.length;
  return Math.sqrt(inked.reduce((s, n) => s + (n - mean) ** 2, 0) / inked.length) / mean;
}

/** The inked row bands of an upright page (its text lines): centre row and inked column range. */
function textBands(image: RgbImage): Array<{ centre: number; left: number; right: number }> {
  const bands: Array<{ centre: number; left: number; right: number }> = [];
  let band: { start: number; left: number; right: number } | null = null;
  for (let y = 0; y <= image.height; y++) {
    let [left, right] = [Infinity, -Infinity];
    for (let x = 0; y < image.height && x < image.width; x++) {
      if (dark(image, x, y) > 128) [left, right] = [Math.min(left, x), x];
    }
    if (right >= 0) band = band ? { start: band.start, left: Math.min(band.left, left), right: Math.max(band.right, right) } : { start: y, left, right };
    else if (band) {
      bands.push({ centre: (band.start + y - 1) / 2, left: band.left, right: band.right });
      band = null;
    }
  }
  return bands;
}

describe('rotation', () => {
  it('sizes the canvas to the rotated frame and scales it down to maxSide', () => {
    expect(planRotation(400, 300, 0)).toEqual({ width: 400, height: 300, matrix: [1, 0, 0, 0, 1, 0] });
    expect(planRotation(400, 300, 90)).toMatchObject({ width: 300, height: 400 });
    const tilted = planRotation(400, 300, 30);
    expect(tilted.width).toBe(Math.ceil(400 * Math.cos(Math.PI / 6) + 300 * 0.5));
    const capped = planRotation(1000, 1500, 5, 1500);
    expect(Math.max(capped.width, capped.height)).toBe(1500);
    expect(() => planRotation(10, 10, NaN)).toThrow('bad angle');
  });

  it('undoes a clockwise turn of the content when rotating by rotateDeg (a level line comes back level)', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="white"/><rect x="40" y="90" width="220" height="6" fill="black"/></svg>';
    const upright = await decode(svg);
    const turned = await decode(await sharp(Buffer.from(svg)).rotate(7, { background: '#ffffff' }).png().toBuffer());
    expect(darkMoments(turned).angleDeg).toBeCloseTo(7, 0);
    for (const backend of BACKENDS) {
      const corrected = await rotateImage(turned, planRotation(turned.width, turned.height, 7), backend);
      expect(Math.abs(darkMoments(corrected).angleDeg)).toBeLessThan(0.1);
    }
    expect(Math.abs(darkMoments(upright).angleDeg)).toBeLessThan(0.01);
  });

  it('restores a synthetic page turned by a quarter turn exactly, and levels a skewed one', async () => {
    const spec = { seed: 3, width: 360, height: 500, format: 'png' as const };
    const upright = await decode(await renderSyntheticPage(spec));
    for (const quarter of [90, 180, 270] as const) {
      const turned = await decode(await renderSyntheticPage({ ...spec, rotate: quarter }));
      for (const backend of BACKENDS) {
        const corrected = await rotateImage(turned, planRotation(turned.width, turned.height, quarter), backend);
        expect([corrected.width, corrected.height]).toEqual([upright.width, upright.height]);
        expect(Buffer.compare(Buffer.from(corrected.pixels), Buffer.from(upright.pixels))).toBe(0);
      }
    }
    const skewed = await decode(await renderSyntheticPage({ ...spec, skewDeg: 4 }));
    const levelled = await rotateImage(skewed, planRotation(skewed.width, skewed.height, 4));
    const [before, after, reference] = [skewed, levelled, upright].map(rowProfileSharpness);
    expect(after).toBeGreaterThan(before * 1.5);
    expect(after).toBeGreaterThan(reference * 0.85);
  });

  it('maps points where the pixels go, on both backends, scaled or not', async () => {
    const [width, height] = [240, 160];
    const image: RgbImage = { width, height, pixels: new Uint8Array(width * height * 3).fill(255) };
    const dot: [number, number] = [57, 41];
    for (let y = dot[1] - 1; y <= dot[1] + 1; y++) for (let x = dot[0] - 1; x <= dot[0] + 1; x++) image.pixels.fill(0, (y * width + x) * 3, (y * width + x) * 3 + 3);
    for (const [angle, maxSide] of [[13, Infinity], [-35, Infinity], [90, Infinity], [-4, 200]]) {
      const rotation = planRotation(width, height, angle, maxSide);
      const [ex, ey] = rotatePoint(rotation, dot);
      for (const backend of BACKENDS) {
        const { cx, cy } = darkMoments(await rotateImage(image, rotation, backend));
        expect(Math.hypot(cx - ex, cy - ey)).toBeLessThan(0.15);
      }
    }
  });

  it('gives the same pixels on both backends', async () => {
    const page = await decode(await renderSyntheticPage({ seed: 5, width: 300, height: 420, format: 'png' }));
    const rotation = planRotation(page.width, page.height, -6.5);
    const [a, b] = await Promise.all(BACKENDS.map((backend) => rotateImage(page, rotation, backend)));
    let total = 0;
    for (let i = 0; i < a.pixels.length; i++) total += Math.abs(a.pixels[i] - b.pixels[i]);
    expect(total / a.pixels.length).toBeLessThan(0.5);
  });

  it('carries text lines onto the rotated canvas', () => {
    const rotation = planRotation(400, 300, 10, 300);
    const line: TextLine = { points: [[50, 60], [350, 113]], height: 12, angleDeg: 10, curvaturePx: 2 };
    const [moved] = rotateTextLines(rotation, [line]);
    const scale = Math.hypot(rotation.matrix[0], rotation.matrix[1]);
    expect(moved.points).toEqual(line.points.map((p) => rotatePoint(rotation, p)));
    expect(moved.angleDeg).toBeCloseTo(0, 9);
    expect(moved.height).toBeCloseTo(12 * scale, 9);
    const [[x0, y0], [x1, y1]] = moved.points;
    expect(Math.abs((Math.atan2(y1 - y0, x1 - x0) * 180) / Math.PI)).toBeLessThan(0.05);
  });
});

describe('thin-plate spline', () => {
  it('solves a linear system to machine precision', () => {
    const n = 30;
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
    const a = Float64Array.from({ length: n * n }, (_, i) => rand() + (i % (n + 1) === 0 ? n : 0));
    const x = Float64Array.from({ length: n * 2 }, rand);
    const b = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) for (let k = 0; k < 2; k++) for (let j = 0; j < n; j++) b[i * 2 + k] += a[i * n + j] * x[j * 2 + k];
    const solved = solveLinear(a, b, n, 2);
    solved.forEach((v, i) => expect(v).toBeCloseTo(x[i], 10));
    expect(() => solveLinear(new Float64Array([1, 2, 2, 4]), new Float64Array([1, 1]), 2, 1)).toThrow('singular');
  });

  it('reproduces an affine map exactly, away from its control points too', () => {
    const affine = ([x, y]: Point): Point => [1.02 * x - 0.05 * y + 7, 0.03 * x + 0.97 * y - 4];
    const from: Point[] = Array.from({ length: 40 }, (_, i) => [(i * 37) % 500, (i * 91) % 700]);
    const spline = fitThinPlateSpline(from, from.map(affine), 1e-4);
    for (const p of [[13, 650], [250, 350], [480, 5]] as Point[]) {
      const [fx, fy] = evaluateThinPlateSpline(spline, p);
      const [ax, ay] = affine(p);
      expect(Math.abs(fx - ax)).toBeLessThan(1e-6);
      expect(Math.abs(fy - ay)).toBeLessThan(1e-6);
    }
    expect(() => fitThinPlateSpline([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 2]])).toThrow('degenerate');
  });
});

describe('dewarp', () => {
  const [width, height] = [480, 400];
  const bow = (x: number) => 14 * Math.sin((Math.PI * x) / width);
  const baselines = [70, 130, 190, 250, 310];
  const [x0, x1] = [40, 440];

  /** The centre path of each stroke as the detector would report it. */
  const strokeLines = (curve: (x: number) => number): TextLine[] =>
    baselines.map((y0) => ({
      points: Array.from({ length: 21 }, (_, i): [number, number] => [x0 + (i * (x1 - x0)) / 20, y0 + curve(x0 + (i * (x1 - x0)) / 20)]),
      height: 4,
      angleDeg: 0,
      curvaturePx: 0,
    }));

  /** Dark 4-px strokes along the given paths. */
  const strokes = (lines: TextLine[]) =>
    decode(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>` +
        lines.map((l) => `<polyline points="${l.points.map((p) => p.join(',')).join(' ')}" fill="none" stroke="black" stroke-width="4"/>`).join('') +
        '</svg>',
    );

  /** Largest distance of each stroke's column centroids from their least-squares line (pixels). */
  function strokeDeviation(image: RgbImage, bandCentre: number): number {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let x = x0 + 10; x <= x1 - 10; x++) {
      let [w, s] = [0, 0];
      for (let y = Math.round(bandCentre - 28); y <= Math.round(bandCentre + 28); y++) {
        const v = dark(image, x, y);
        w += v;
        s += v * y;
      }
      if (w > 0) { xs.push(x); ys.push(s / w); }
    }
    const n = xs.length;
    const [mx, my] = [xs.reduce((a, b) => a + b) / n, ys.reduce((a, b) => a + b) / n];
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    return Math.max(...xs.map((x, i) => Math.abs(ys[i] - (my + slope * (x - mx)))));
  }

  const meanY = (line: TextLine) => line.points.reduce((s, p) => s + p[1], 0) / line.points.length;

  it('straightens curved lines: strokes and mapped paths end up straight', async () => {
    const lines = strokeLines(bow);
    const image = await strokes(lines);
    const plan = planDewarp(lines, width, height);
    expect(plan.controlPoints).toBeLessThanOrEqual(200);
    const dewarped = await dewarpImage(image, plan);
    const before = lines.map((l) => strokeDeviation(image, meanY(l)));
    const after = lines.map((l) => strokeDeviation(dewarped, meanY(l)));
    expect(Math.min(...before)).toBeGreaterThan(3);
    expect(Math.max(...after)).toBeLessThanOrEqual(1.5);
    for (const line of lines) {
      const mapped = line.points.map((p) => dewarpPoint(plan, p));
      const ys = mapped.map((p) => p[1]);
      expect(Math.max(...ys) - Math.min(...ys)).toBeLessThan(1);
    }
  });

  it('levels the text lines of a curled synthetic page', async () => {
    const spec = { seed: 11, width: 480, height: 640, columns: 1 as const, format: 'png' as const };
    const curlPx = 12;
    const upright = await decode(await renderSyntheticPage(spec));
    const curled = await decode(await renderSyntheticPage({ ...spec, curlPx }));
    // The detector's view of the curled page: each upright text line's centre, bowed by the curl.
    const lines = textBands(upright).map(({ centre, left, right }): TextLine => ({
      points: Array.from({ length: 17 }, (_, i): [number, number] => {
        const x = left + ((right - left) * i) / 16;
        return [x, centre + curlPx * Math.sin((Math.PI * x) / spec.width)];
      }),
      height: 10,
      angleDeg: 0,
      curvaturePx: curlPx,
    }));
    const dewarped = await dewarpImage(curled, planDewarp(lines, curled.width, curled.height));
    const [before, after, reference] = [curled, dewarped, upright].map(rowProfileSharpness);
    expect(lines.length).toBeGreaterThan(10);
    expect(after).toBeGreaterThan(before * 1.3);
    expect(after).toBeGreaterThan(reference * 0.9);
  });

  it('is the identity when the lines are straight', async () => {
    const lines = strokeLines(() => 0);
    const image = await strokes(lines);
    const plan = planDewarp(lines, width, height);
    for (const p of [[0, 0], [100, 77], [479, 399]] as Point[]) {
      const [x, y] = dewarpPoint(plan, p);
      expect(Math.hypot(x - p[0], y - p[1])).toBeLessThan(1e-6);
    }
    const out = await dewarpImage(image, plan);
    expect(out.pixels.every((v, i) => Math.abs(v - image.pixels[i]) <= 1)).toBe(true);
    expect(planDewarp([], width, height).inverse).toBeNull();
  });

  it('keeps a short line where it sits between its long neighbours when the lines tilt more and more down the page', () => {
    // Long lines across the page, each tilted more than the one above (a page curling towards its
    // foot); a short line (a paragraph's last) at the left margin, halfway between two of them.
    const long = (y0: number, slope: number) => (x: number) => y0 + slope * (x - width / 2);
    const paths = [long(100, 0), long(160, -0.03), long(220, -0.06), long(280, -0.09)];
    const line = (path: (x: number) => number, from: number, to: number): TextLine => ({
      points: Array.from({ length: 21 }, (_, i): [number, number] => [from + ((to - from) * i) / 20, path(from + ((to - from) * i) / 20)]),
      height: 4,
      angleDeg: 0,
      curvaturePx: 0,
    });
    const halfway = (x: number) => (paths[2](x) + paths[3](x)) / 2;
    const plan = planDewarp([...paths.map((path) => line(path, x0, x1)), line(halfway, x0, 160)], width, height);
    for (const x of [x0, 100, 160]) {
      const [above, short, below] = [paths[2](x), halfway(x), paths[3](x)].map((y) => dewarpPoint(plan, [x, y])[1]);
      expect({ x, share: (short - above) / (below - above) }).toEqual({ x, share: expect.closeTo(0.5, 1) });
    }
  });

  it('keeps to the control-point budget on a page with many lines', () => {
    const many = Array.from({ length: 120 }, (_, i) => strokeLines(bow)[i % baselines.length]);
    const { controlPoints } = planDewarp(many, width, height, { maxControlPoints: 120 });
    expect(controlPoints).toBeLessThanOrEqual(120);
    expect(controlPoints).toBeGreaterThan(100);
  });

  it('rotates first, then dewarps with the lines carried through the rotation', async () => {
    const lines = strokeLines(bow);
    const upright = await strokes(lines);
    const turned = await rotateImage(upright, planRotation(width, height, -90));
    const turnedLines = rotateTextLines(planRotation(width, height, -90), lines);
    const corrected = await correctPage(turned, { kind: 'tps', rotateDeg: 90, dewarp: true }, turnedLines, 1536);
    expect([corrected.width, corrected.height]).toEqual([width, height]);
    expect(Math.max(...lines.map((l) => strokeDeviation(corrected, meanY(l))))).toBeLessThanOrEqual(1.5);
  });
});
