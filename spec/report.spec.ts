import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { VolumeWorker, defaultAdapter, openLocation, resolveConfig } from '../src';
import { demoPages, writeDemoVolume } from '../src/demoVolume';
import { ReportCollector, THUMB_MAX_SIDE, renderReport, type ReportPage } from '../src/report';
import { figureOf } from '../src/report/thumbnails';

/** The chromium binary on PATH, if any. */
function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A thumbnail's JPEG bytes from its data URI. */
function jpegOf(src: string): Buffer {
  expect(src).toMatch(/^data:image\/jpeg;base64,/);
  return Buffer.from(src.slice(src.indexOf(',') + 1), 'base64');
}

/** Width and height of a w×h box turned by `deg`. */
function turnedBox(w: number, h: number, deg: number): [number, number] {
  const r = (deg * Math.PI) / 180;
  const [c, s] = [Math.abs(Math.cos(r)), Math.abs(Math.sin(r))];
  return [w * c + h * s, w * s + h * c];
}

describe('HTML volume report from a real run (default model, local folders)', () => {
  let tmp: string;
  let pages: ReportPage[];
  let html: string;
  let collector: ReportCollector;
  let limited: ReportPage[];
  let input: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-report-'));
    const cfg = resolveConfig({ input: join(tmp, 'in', 'vol_R'), output: join(tmp, 'out'), inflightPages: 4, batchSize: 4 });
    await writeDemoVolume(openLocation(cfg.input), demoPages(4));
    const worker = new VolumeWorker(cfg, undefined, 'vol_R', undefined, { adapter: defaultAdapter(cfg) });
    input = cfg.input;
    collector = new ReportCollector(worker.pages$);
    const firstTwo = new ReportCollector(worker.pages$, { thumbnailPages: 2 });
    await worker.run();
    pages = await collector.pages(openLocation(cfg.input));
    limited = await firstTwo.pages(openLocation(cfg.input));
    html = renderReport({ volumeId: 'vol_R', summary: [['volume', 'vol_R']], pages });
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('has every page in order, the corrupt one as an error row with its message', () => {
    expect(pages.map((p) => p.record.key)).toEqual(demoPages(4).map((p) => p.key));
    const [corrupt] = pages.filter((p) => p.record.status === 'error');
    expect(corrupt.record.key).toBe('page-0003.jpg');
    expect(corrupt.before).toBeUndefined();
    expect(html).toMatch(/<tr class="error"><td>3<\/td><td>page-0003\.jpg<\/td><td colspan="3">error: [^<]+<\/td>/);
  });

  it('draws small JPEG thumbnails before and after with one polyline per detected line', async () => {
    for (const page of pages.filter((p) => p.record.status === 'ok')) {
      for (const figure of [page.before, page.after]) {
        if (!figure) throw new Error(`page ${page.record.key} has no thumbnail`);
        const meta = await sharp(jpegOf(figure.src)).metadata();
        expect(meta.format).toBe('jpeg');
        expect([meta.width, meta.height]).toEqual([figure.width, figure.height]);
        expect(Math.max(figure.width, figure.height)).toBeLessThanOrEqual(THUMB_MAX_SIDE);
        for (const line of figure.lines) for (const [x, y] of line) {
          expect(x).toBeGreaterThanOrEqual(-1);
          expect(x).toBeLessThanOrEqual(figure.width + 1);
          expect(y).toBeGreaterThanOrEqual(-1);
          expect(y).toBeLessThanOrEqual(figure.height + 1);
        }
      }
      expect(page.after?.lines).toHaveLength(page.record.text_lines as number);
      expect(page.before?.lines.length).toBeGreaterThan(0);
    }
    const okPages = pages.filter((p) => p.record.status === 'ok');
    const polylines = okPages.reduce((n, p) => n + (p.before?.lines.length ?? 0) + (p.after?.lines.length ?? 0), 0);
    expect(html.match(/<polyline class="line"/g) ?? []).toHaveLength(polylines);
  });

  it('draws a photo with EXIF orientation upright, as the pipeline reads it (the lines then lie on its text)', async () => {
    // boston_cooking_a.jpg is stored 3264×2448 with EXIF orientation 6: displayed, and analysed, as 2448×3264.
    const photo = await readFile(join(__dirname, 'fixtures', 'real-pages', 'boston_cooking_a.jpg'));
    const frame = { width: 744, height: 992 };
    const summary = { orientationDeg: 0 as const, skewDeg: 0, confidence: 1, textLines: 1, textCoverage: 0.1, curvaturePx: 0, lines: [], ...frame };
    const figure = await figureOf(photo, 0, summary);
    expect(figure.height).toBe(THUMB_MAX_SIDE);
    expect(figure.width).toBe(Math.round((THUMB_MAX_SIDE * 2448) / 3264));
  });

  it('turns the "after" thumbnail by the rotation the page needed (from how the demo page was made)', () => {
    const made = new Map(demoPages(4).map((p) => [p.key, p.spec]));
    const corrected = pages.filter((p) => p.before && p.after && p.record.transform !== 'none');
    // Page 2 was turned 90° when it was made: it must be among the corrected ones, or this checks nothing.
    expect(corrected.map((p) => p.record.key)).toContain('page-0002.jpg');
    for (const page of pages.filter((p) => p.before && p.after)) {
      const before = page.before as NonNullable<ReportPage['before']>;
      const after = page.after as NonNullable<ReportPage['after']>;
      const spec = made.get(page.record.key);
      // Sign convention (src/synth/pages.ts): content turned by r and skewed by a is corrected by turning it back by r + a.
      const needed = page.record.transform === 'none' ? 0 : (spec?.rotate ?? 0) + (spec?.skewDeg ?? 0);
      const off = Math.abs(((page.rotateDeg - needed + 540) % 360) - 180);
      expect(off).toBeLessThan(1.5);
      const [w, h] = turnedBox(before.width, before.height, needed);
      expect(after.width / after.height).toBeCloseTo(w / h, 1);
    }
  });

  it('plots skew and residual tilt for every page that has them', () => {
    const points = pages.filter((p) => p.record.skew_deg !== null).length + pages.filter((p) => p.record.residual_skew_deg !== null).length;
    const plot = /<svg class="plot"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
    expect(plot.match(/<circle /g) ?? []).toHaveLength(points);
  });

  it('escapes keys and messages', () => {
    const [first] = pages;
    const hostile = renderReport({ volumeId: '<v>', summary: [['note', '<i>x</i>']], pages: [{ ...first, record: { ...first.record, key: '<script>alert(1)</script>.jpg' } }] });
    expect(hostile).not.toContain('<script>alert(1)');
    expect(hostile).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.jpg');
    expect(hostile).toContain('&lt;i&gt;x&lt;/i&gt;');
  });

  it('draws thumbnails for the first thumbnailPages pages only; the others keep their rows and say why', () => {
    expect(limited.map((p) => p.record)).toEqual(pages.map((p) => p.record));
    expect(limited.map((p) => p.rotateDeg)).toEqual(pages.map((p) => p.rotateDeg));
    const drawn = limited.map((p) => ({ seq: p.record.seq, status: p.record.status, before: p.before !== undefined, after: p.after !== undefined, why: p.thumbnailError }));
    expect(drawn).toEqual([
      { seq: 0, status: 'ok', before: true, after: true, why: undefined },
      { seq: 1, status: 'ok', before: true, after: true, why: undefined },
      { seq: 2, status: 'ok', before: false, after: false, why: 'the report draws thumbnails for the first 2 pages' },
      { seq: 3, status: 'error', before: false, after: false, why: undefined },
    ]);
  });

  it('says why a page has no thumbnails when its original is gone', async () => {
    await rm(join(input, 'page-0000.jpg'));
    const [gone] = await collector.pages(openLocation(input));
    expect(gone.before).toBeUndefined();
    expect(gone.thumbnailError).toMatch(/page-0000\.jpg|not found|ENOENT/i);
    expect(renderReport({ volumeId: 'vol_R', summary: [], pages: [gone] })).toContain('<th>no thumbnail</th>');
  });

  it('renders in headless Chromium', async () => {
    const chromium = findChromium();
    if (!chromium) throw new Error('chromium is not installed (apt-get install chromium; .ci/run installs it)');
    const file = join(tmp, 'report.html');
    const png = join(tmp, 'report.png');
    await writeFile(file, html);
    await promisify(execFile)(chromium, ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${png}`, '--window-size=1200,1600', `file://${file}`], { timeout: 60_000 });
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([1200, 1600]);
    const { channels } = await sharp(png).stats();
    // A blank (all-white) page has no spread; thumbnails, text and the plot give plenty.
    expect(channels[0].stdev).toBeGreaterThan(20);
    // The magenta line overlays show up: red well above green somewhere.
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let magenta = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i] > 180 && data[i + 1] < 100 && data[i + 2] > 100) magenta++;
    expect(magenta).toBeGreaterThan(500);
  }, 90_000);
});
