import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { VolumeWorker, applyCorrection, correctionColumns, resolveConfig, type CorrectionRow, type DewarpPointsJson, type PageSummary, type TextLine, type TransformPlan } from '../src';
import { renderSyntheticPage, type PageSpec } from '../src/demo';
import { marginColour } from '../src/correct/applyCorrection';
import { correctPage } from '../src/transform/correct';
import type { RgbImage } from '../src/transform/image';
import { corruptJpeg } from '../src/demoVolume';
import { readParquet } from './helpers/duckdb';

/**
 * Issue 16: the volume is run with `images: 'jpeg'`, so each ok page's corrected full-resolution
 * image is published beside the table. Each published image is what `applyCorrection(original,
 * row)` rebuilds from the original and its row as DuckDB reads it back (the same bytes where the
 * page was re-encoded, the same pixels where it was copied), and the default model, run again on
 * the published images, reads them as upright, unskewed and (for curled pages) straighter; canvas
 * expanded, DPI kept, corners in the page's margin colour.
 */

const REAL_PAGES = join(__dirname, 'fixtures', 'real-pages');
const SYNTHETIC_DPI = 300;

type Kind = 'skewed' | 'turned' | 'curled' | 'real' | 'straight';
const SYNTHETIC: Array<{ key: string; kind: Kind; spec: PageSpec }> = [
  { key: 'skew-plus-0.5.jpg', kind: 'skewed', spec: { seed: 11, skewDeg: 0.5 } },
  { key: 'skew-minus-4.jpg', kind: 'skewed', spec: { seed: 12, skewDeg: -4 } },
  { key: 'skew-minus-15.jpg', kind: 'skewed', spec: { seed: 13, skewDeg: -15 } },
  { key: 'skew-plus-15.jpg', kind: 'skewed', spec: { seed: 14, skewDeg: 15 } },
  { key: 'turn-90.jpg', kind: 'turned', spec: { seed: 21, rotate: 90 } },
  { key: 'turn-180.jpg', kind: 'turned', spec: { seed: 22, rotate: 180 } },
  { key: 'turn-270-skew-2.jpg', kind: 'turned', spec: { seed: 23, rotate: 270, skewDeg: 2 } },
  { key: 'curl-14.jpg', kind: 'curled', spec: { seed: 31, curlPx: 14 } },
  { key: 'curl-10-skew-6.jpg', kind: 'curled', spec: { seed: 32, curlPx: 10, skewDeg: 6 } },
  { key: 'straight.png', kind: 'straight', spec: { seed: 41, format: 'png' } },
  { key: 'straight.jpg', kind: 'straight', spec: { seed: 42 } },
];

const QUALITY = 92;
/**
 * How far (analysis-frame px, lines ≈ 7 px tall) any re-detected line of a dewarped published image
 * may stray from straight: its points' largest distance from their least-squares line (glyph
 * jitter is ≈ 1–2.5 px). Short lines levelled on their own mean y waved up to 4.6 px.
 */
const LINE_STRAIGHT_PX = 3;

/**
 * Runs a folder through the default model (publishing JPEG page images when `images`); returns its
 * rows as DuckDB reads them from the table and each page's first-pass summary (its text lines), by key.
 */
async function runVolume(
  input: string,
  output: string,
  maxPasses: 1 | 2,
  images = false,
): Promise<{ rows: Map<string, Record<string, unknown>>; types: Record<string, string>; summaries: Map<string, PageSummary> }> {
  const worker = new VolumeWorker(resolveConfig({ input, output, maxPasses, ...(images ? { images: 'jpeg', imageQuality: QUALITY } : {}) }), undefined, 'vol');
  const summaries = new Map<string, PageSummary>();
  worker.pages$.subscribe((page) => page.first && summaries.set(page.record.key, page.first));
  const result = await worker.run();
  expect(result.status).toBe('published');
  const path = result.parquet.startsWith('file:') ? fileURLToPath(result.parquet) : result.parquet;
  const { rows, types } = await readParquet(path);
  return { rows: new Map(rows.map((row) => [String(row.key), row])), types, summaries };
}

/** The largest distance (px) of a line's points from their least-squares straight line y = a + b·x. */
function straightnessPx(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const b = sxx > 0 ? points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx : 0;
  return Math.max(...points.map(([x, y]) => Math.abs(y - my - b * (x - mx)))) / Math.hypot(1, b);
}

/** The mean RGB of the `size`×`size` patch at each corner of a decoded image. */
function cornerColours(pixels: Uint8Array, width: number, height: number, size = 4): number[][] {
  return [[0, 0], [width - size, 0], [0, height - size], [width - size, height - size]].map(([x0, y0]) => {
    const sum = [0, 0, 0];
    for (let y = y0; y < y0 + size; y++) for (let x = x0; x < x0 + size; x++) for (let c = 0; c < 3; c++) sum[c] += pixels[(y * width + x) * 3 + c];
    return sum.map((v) => v / (size * size));
  });
}

/** The canvas a rotation by `deg` about the centre needs for a `width`×`height` page (its bounding box). */
function expandedSize(width: number, height: number, deg: number): [number, number] {
  const [c, s] = [Math.abs(Math.cos((deg * Math.PI) / 180)), Math.abs(Math.sin((deg * Math.PI) / 180))];
  return [Math.ceil(width * c + height * s - 1e-6), Math.ceil(width * s + height * c - 1e-6)];
}

describe('applyCorrection: the published rows rebuild the corrections at full resolution', () => {
  let tmp: string;
  const kinds = new Map<string, Kind>();
  let first: Map<string, Record<string, unknown>>;
  let types: Record<string, string>;
  let again: Map<string, Record<string, unknown>>;
  /** By input key: the text lines the default model finds on the published image (its first pass). */
  let againLines: Map<string, PageSummary>;
  /** By input key: the published image, its original, its row and what applyCorrection rebuilds from them. */
  const outputs = new Map<string, { bytes: Buffer; original: Buffer; row: Record<string, unknown>; rebuilt: Buffer }>();

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-apply-'));
    const [input, corrected] = [join(tmp, 'in'), join(tmp, 'corrected')];
    await mkdir(input);
    await mkdir(corrected);
    for (const photo of (await readdir(REAL_PAGES)).filter((f) => f.endsWith('.jpg'))) {
      await writeFile(join(input, photo), await readFile(join(REAL_PAGES, photo)));
      kinds.set(photo, 'real');
    }
    for (const page of SYNTHETIC) {
      const rendered = await renderSyntheticPage(page.spec);
      const withDpi = sharp(rendered).withMetadata({ density: SYNTHETIC_DPI });
      await writeFile(join(input, page.key), await (page.spec.format === 'png' ? withDpi.png() : withDpi.jpeg({ quality: 92 })).toBuffer());
      kinds.set(page.key, page.kind);
    }
    await writeFile(join(input, 'corrupt.jpg'), corruptJpeg());
    ({ rows: first, types } = await runVolume(input, join(tmp, 'out'), 2, true));

    for (const [key, row] of first) {
      if (row.status !== 'ok') continue;
      const original = await readFile(join(input, key));
      const bytes = await readFile(join(tmp, 'out', String(row.image_key)));
      const rebuilt = await applyCorrection(original, row as unknown as CorrectionRow, { format: 'jpeg', quality: QUALITY });
      outputs.set(key, { bytes, original, row, rebuilt });
      await writeFile(join(corrected, key.replace(/\.\w+$/, '.jpg')), bytes);
    }
    // The default model once more, measuring only (no correction of its own).
    const measured = await runVolume(corrected, join(tmp, 'out-again'), 1);
    again = new Map([...first.keys()].filter((k) => outputs.has(k)).map((k) => [k, measured.rows.get(k.replace(/\.\w+$/, '.jpg')) as Record<string, unknown>]));
    againLines = new Map([...again.keys()].map((k) => [k, measured.summaries.get(k.replace(/\.\w+$/, '.jpg')) as PageSummary]));
  }, 900_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('DuckDB reads the correction columns; error rows have none, pages kept as they are have 0° and their own size', () => {
    expect(types).toMatchObject({ applied_rotation_deg: 'DOUBLE', image_width: 'INTEGER', image_height: 'INTEGER', dewarp_points: 'VARCHAR', image_key: 'VARCHAR' });
    expect(first.get('corrupt.jpg')).toMatchObject({ status: 'error', applied_rotation_deg: null, image_width: null, image_height: null, dewarp_points: null, image_key: null });
    for (const row of first.values()) {
      if (row.status !== 'ok') continue;
      expect(row.dewarp_points === null).toBe(row.transform !== 'tps');
      if (row.transform === 'none') expect(row).toMatchObject({ applied_rotation_deg: 0, image_width: row.width, image_height: row.height });
    }
    expect(first.get('straight.png')).toMatchObject({ transform: 'none' });
    expect(first.get('straight.jpg')).toMatchObject({ transform: 'none' });
  });

  it('applyCorrection reproduces every published image: the same bytes where the page was re-encoded, the same pixels where its original was copied', async () => {
    const copied: string[] = [];
    for (const [key, { bytes, original, rebuilt, row }] of outputs) {
      if (Buffer.compare(bytes, original) === 0) {
        copied.push(key);
        expect({ key, transform: row.transform, rotation: row.applied_rotation_deg }).toEqual({ key, transform: 'none', rotation: 0 });
        // A copy keeps the original's EXIF orientation: upright, it has the pixels applyCorrection starts from.
        const [published, rebuiltPixels] = await Promise.all([sharp(bytes).rotate().raw().toBuffer(), sharp(original).rotate().raw().toBuffer()]);
        expect({ key, same: Buffer.compare(published, rebuiltPixels) === 0 }).toEqual({ key, same: true });
      } else expect({ key, sameBytes: Buffer.compare(bytes, rebuilt) === 0 }).toEqual({ key, sameBytes: true });
    }
    // The straight PNG is re-encoded as JPEG; the straight JPEG, kept as it is, is copied.
    expect(copied).not.toContain('straight.png');
    expect(copied).toContain('straight.jpg');
  });

  it('corrects every turned, skewed and curled synthetic page; a page kept as it is comes back as its upright original', async () => {
    const synthetic = [...kinds].filter(([, kind]) => kind !== 'straight' && kind !== 'real');
    expect(synthetic.map(([key]) => [key, first.get(key)?.transform]).filter(([, t]) => t !== 'rotate' && t !== 'tps')).toEqual([]);
    const kept = [...outputs].filter(([, o]) => o.row.transform === 'none');
    expect(kept.length).toBeGreaterThanOrEqual(1);
    for (const [key, { bytes, original }] of kept) {
      const upright = await sharp(original).rotate().raw().toBuffer({ resolveWithObject: true });
      const rebuilt = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
      expect({ key, width: rebuilt.info.width, height: rebuilt.info.height }).toEqual({ key, width: upright.info.width, height: upright.info.height });
      let diff = 0;
      for (let i = 0; i < upright.data.length; i++) diff += Math.abs(upright.data[i] - rebuilt.data[i]);
      expect({ key, meanDiff: diff / upright.data.length < 2 }).toEqual({ key, meanDiff: true }); // a JPEG re-encode apart
    }
  });

  it('the model reads each published image upright, with the tilt the pipeline verified at analysis size (±0.15°: the skew estimate repeats to about 0.1° across decodes)', () => {
    const read = [...again].map(([key, row]) => ({ key, status: row.status, orientation: row.orientation_deg, skew: row.skew_deg as number, verified: first.get(key)?.residual_skew_deg as number }));
    console.log(`published images, re-analysed: ${read.map((r) => `${r.key} ${r.orientation}° skew ${r.skew?.toFixed(3)}°`).join('; ')}`);
    expect(read).toHaveLength(kinds.size); // every page but the corrupt one, which has no image
    expect(read.filter((r) => r.status !== 'ok' || r.orientation !== 0 || !(Math.abs(r.skew - r.verified) <= 0.15))).toEqual([]);
  });

  it('|skew| ≤ 0.2° on the published images of the pages the pipeline corrected to within 0.2°, most of them', () => {
    const corrected = [...again].filter(([key]) => first.get(key)?.transform !== 'none');
    const within = corrected.filter(([key]) => Math.abs(first.get(key)?.residual_skew_deg as number) <= 0.2);
    expect(within.length).toBeGreaterThanOrEqual(corrected.length - 1);
    expect(within.map(([key, row]) => ({ key, skew: row.skew_deg as number })).filter((r) => !(Math.abs(r.skew) <= 0.2))).toEqual([]);
  });

  it('the curled pages come out with at most half their line curvature', () => {
    const curled = [...kinds].filter(([key, kind]) => kind === 'curled' || (kind === 'real' && first.get(key)?.transform === 'tps'));
    expect(curled.length).toBeGreaterThanOrEqual(4);
    const bends = curled.map(([key]) => ({ key, before: first.get(key)?.curvature_px as number, after: again.get(key)?.curvature_px as number }));
    console.log(`curvature before → on the published image: ${bends.map((b) => `${b.key} ${b.before.toFixed(1)} → ${b.after.toFixed(1)} px`).join('; ')}`);
    expect(bends.filter((b) => !(b.after <= b.before / 2))).toEqual([]);
  });

  it(`every text line of the dewarped pages' published images is straight to within ${LINE_STRAIGHT_PX} px, the bottom fifth of the page included`, () => {
    const dewarped = [...again.keys()].filter((key) => first.get(key)?.transform === 'tps');
    expect(dewarped.length).toBeGreaterThanOrEqual(4);
    const worst = dewarped.map((key) => {
      const summary = againLines.get(key) as PageSummary;
      const lines = summary.lines.filter((l) => l.points.length >= 5).map((l) => ({ y: l.points.reduce((s, p) => s + p[1], 0) / l.points.length, straightness: straightnessPx(l.points) }));
      const bottom = lines.filter((l) => l.y >= 0.8 * summary.height);
      return { key, lines: lines.length, bottom: bottom.length, worst: Math.max(...lines.map((l) => l.straightness)), worstBottom: Math.max(...bottom.map((l) => l.straightness)) };
    });
    console.log(`published dewarped pages, worst line (px off straight, analysis frame): ${worst.map((w) => `${w.key} ${w.worst.toFixed(1)} (bottom fifth ${w.worstBottom.toFixed(1)} over ${w.bottom} lines)`).join('; ')}`);
    expect(worst.filter((w) => w.bottom === 0)).toEqual([]);
    expect(worst.filter((w) => !(w.worst <= LINE_STRAIGHT_PX))).toEqual([]);
  });

  it('each published image has the canvas-expanded size, the original DPI and corners in the margin colour', async () => {
    for (const [key, { bytes, original, row }] of outputs) {
      const meta = await sharp(bytes).metadata();
      const [width, height] = expandedSize(row.width as number, row.height as number, row.applied_rotation_deg as number);
      const swapped = (meta.orientation ?? 1) >= 5; // a copied original keeps its EXIF orientation
      expect({ key, width: swapped ? meta.height : meta.width, height: swapped ? meta.width : meta.height }).toEqual({ key, width, height });
      expect({ key, width: row.image_width, height: row.image_height }).toEqual({ key, width, height });
      expect({ key, density: meta.density }).toEqual({ key, density: (await sharp(original).metadata()).density });
      const quarterTurn = (row.applied_rotation_deg as number) % 90 === 0;
      if (kinds.get(key) === 'real' && quarterTurn) continue; // a photo's own corners (the desk) stay
      const upright = await sharp(original).rotate().raw().toBuffer({ resolveWithObject: true });
      const margin = marginColour({ width: upright.info.width, height: upright.info.height, pixels: upright.data });
      const decoded = await sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true });
      const far = cornerColours(decoded.data, decoded.info.width, decoded.info.height).filter((corner) => corner.some((v, c) => Math.abs(v - margin[c]) > 16));
      expect({ key, margin, far }).toEqual({ key, margin, far: [] });
    }
  });

  it('refuses bytes that are not the row\'s original', async () => {
    const [a, b] = [...outputs.values()].filter((o) => o.row.transform !== 'none');
    const other = { ...(b.row as unknown as CorrectionRow), width: (a.row.width as number) + 1 };
    await expect(applyCorrection(a.original, other, { format: 'png' })).rejects.toThrow(/the row was made from/);
  });
});

/** Lines across a `width`×`height` frame, bowed by `bowPx` and tilted by `tiltPx` over their length, as the detector reports them. */
function bowedLines(width: number, height: number, bowPx: number, tiltPx: number): TextLine[] {
  const lines: TextLine[] = [];
  for (let y = height * 0.15; y < height * 0.85; y += height / 16) {
    const points: Array<[number, number]> = [];
    for (let x = width * 0.1; x <= width * 0.9; x += width / 16) {
      const t = (x - width * 0.1) / (width * 0.8);
      points.push([x, y + bowPx * Math.sin(Math.PI * t) + tiltPx * t]);
    }
    lines.push({ points, height: 8, angleDeg: 0, curvaturePx: bowPx });
  }
  return lines;
}

/** XResolution (EXIF tag 0x11a, a rational) from EXIF bytes as sharp reads them; undefined when absent. */
function exifXResolution(exif: Buffer): number | undefined {
  const tiff = exif.indexOf('Exif\0\0') + 6;
  const le = exif.toString('latin1', tiff, tiff + 2) === 'II';
  const u16 = (o: number) => (le ? exif.readUInt16LE(tiff + o) : exif.readUInt16BE(tiff + o));
  const u32 = (o: number) => (le ? exif.readUInt32LE(tiff + o) : exif.readUInt32BE(tiff + o));
  const ifd = u32(4);
  for (let i = 0; i < u16(ifd); i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) === 0x11a) return u32(u32(entry + 8)) / u32(u32(entry + 8) + 4);
  }
  return undefined;
}

describe('correctionColumns + the full-resolution correction', () => {
  const plan: TransformPlan = { kind: 'tps', rotateDeg: 7.5, dewarp: true };
  let frame: RgbImage;
  let first: PageSummary;

  beforeAll(async () => {
    const { data, info } = await sharp(await renderSyntheticPage({ seed: 5, width: 420, height: 600, curlPx: 8 })).raw().toBuffer({ resolveWithObject: true });
    frame = { width: info.width, height: info.height, pixels: new Uint8Array(data) };
    first = { width: frame.width, height: frame.height, lines: bowedLines(frame.width, frame.height, 6, 4) } as PageSummary;
  });

  it('gives error rows nulls and pages kept as they are 0°, their own size and no dewarp', () => {
    expect(correctionColumns(undefined, null)).toEqual({ applied_rotation_deg: null, image_width: null, image_height: null, dewarp_points: null });
    expect(correctionColumns({ width: 2480, height: 3508 }, null)).toEqual({ applied_rotation_deg: 0, image_width: 2480, image_height: 3508, dewarp_points: null });
  });

  it('rebuilds the frame the pipeline corrected on OpenCV: a dewarp in one remap (it took a rotation, then a remap), a deskew on libvips, a quarter turn pixel for pixel', async () => {
    const original = await sharp(frame.pixels, { raw: { width: frame.width, height: frame.height, channels: 3 } }).png().toBuffer();
    const plans: TransformPlan[] = [plan, { kind: 'rotate', rotateDeg: -3.2, dewarp: false }, { kind: 'rotate', rotateDeg: 270, dewarp: false }];
    const diffs: Array<{ rotateDeg: number; dewarp: boolean; meanDiff: number }> = [];
    for (const p of plans) {
      const analysed = await correctPage(frame, p, first.lines, Infinity);
      const columns = correctionColumns(frame, { plan: p, first, corrected: analysed });
      expect(columns).toMatchObject({ applied_rotation_deg: p.rotateDeg, image_width: analysed.width, image_height: analysed.height });
      const rebuilt = await sharp(await applyCorrection(original, { width: frame.width, height: frame.height, ...columns }, { format: 'png' })).raw().toBuffer();
      let diff = 0;
      for (let i = 0; i < rebuilt.length; i++) diff += Math.abs(rebuilt[i] - analysed.pixels[i]);
      diffs.push({ rotateDeg: p.rotateDeg, dewarp: p.dewarp, meanDiff: diff / rebuilt.length });
    }
    expect(diffs.filter((d) => !(d.meanDiff < (d.rotateDeg % 90 === 0 ? 1e-9 : 2)))).toEqual([]);
  });

  it('encodes jpeg, png, webp and tiff on the expanded canvas with the original DPI (WebP: in its EXIF)', async () => {
    const original = await sharp(frame.pixels, { raw: { width: frame.width, height: frame.height, channels: 3 } }).withMetadata({ density: 240 }).jpeg().toBuffer();
    const row = { width: frame.width, height: frame.height, applied_rotation_deg: 7.5, image_width: 495, image_height: 650, dewarp_points: null };
    for (const format of ['jpeg', 'png', 'webp', 'tiff'] as const) {
      const meta = await sharp(await applyCorrection(original, row, { format })).metadata();
      const dpi = format === 'webp' ? exifXResolution(meta.exif as Buffer) : meta.density;
      expect({ format: meta.format, width: meta.width, height: meta.height, dpi }).toEqual({ format, width: 495, height: 650, dpi: 240 });
    }
  });

  it('carries the analysis-scale control points onto the full-size canvas (corners onto corners, lines straightened at the same place)', async () => {
    const analysed = await correctPage(frame, plan, first.lines, 300);
    const full = { width: frame.width * 4, height: frame.height * 4 };
    const columns = correctionColumns(full, { plan, first, corrected: analysed });
    const points = JSON.parse(columns.dewarp_points as string) as DewarpPointsJson;
    const scale = (columns.image_width as number) / analysed.width;
    expect(scale).toBeGreaterThan(4); // the analysis canvas was scaled down to fit 300 px
    const corners = points.source.slice(-4);
    const canvas = [[0, 0], [(columns.image_width as number) - 1, 0], [0, (columns.image_height as number) - 1], [(columns.image_width as number) - 1, (columns.image_height as number) - 1]];
    corners.forEach((corner, i) => expect(Math.hypot(corner[0] - canvas[i][0], corner[1] - canvas[i][1])).toBeLessThan(scale));
    // A line's targets share one y; the first line's samples keep their x.
    const lineTargets = points.target.slice(0, 3);
    expect(new Set(lineTargets.map((p) => p[1])).size).toBe(1);
    points.source.slice(0, 3).forEach((p, i) => expect(p[0]).toBeCloseTo(lineTargets[i][0], 1));
  });
});
