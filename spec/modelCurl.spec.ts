import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeWorker, resolveConfig, type PageResult } from '../src';
import { renderSyntheticPage } from '../src/demo';
import type { PageSpec } from '../src/synth/pages';

/**
 * Page curl through the whole pipeline (local folders, the default PP-OCRv4 model, analysis at
 * 1024 px): curled synthetic pages are measured as curved, dewarped with the thin-plate spline and
 * confirmed straighter by the second pass; straight pages stay well under the threshold; real
 * book photos with a curl near the spine are measured as curved.
 */
const REAL = join(__dirname, 'fixtures', 'real-pages');
/** The seeds render one or two columns by themselves (1004 is the demo volume's curled page). */
const SYNTHETIC: Record<string, PageSpec> = {
  'curled-two-columns.jpg': { seed: 1004, curlPx: 14 },
  'curled-one-column.jpg': { seed: 1000, curlPx: 14 },
  'straight-one-column.jpg': { seed: 1000 },
  'straight-two-columns-skewed.jpg': { seed: 1006, skewDeg: 12 },
};
const PHOTOS = ['boston_cooking_a.jpg', 'boston_cooking_b.jpg'];
/** Clearly under the default curvature threshold. */
const STRAIGHT_MAX_PX = 1.5;

describe('page curl, end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxvolume-curl-'));
  const cfg = resolveConfig({ input: join(dir, 'in'), output: join(dir, 'out'), analysisMaxSide: 1024 });
  const results = new Map<string, PageResult>();

  beforeAll(async () => {
    mkdirSync(cfg.input, { recursive: true });
    for (const [key, spec] of Object.entries(SYNTHETIC)) writeFileSync(join(cfg.input, key), await renderSyntheticPage(spec));
    for (const name of PHOTOS) copyFileSync(join(REAL, name), join(cfg.input, name));
    const worker = new VolumeWorker(cfg, undefined, 'curl');
    worker.pages$.subscribe((page) => results.set(page.record.key, page));
    await worker.run();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const record = (key: string) => {
    const page = results.get(key);
    expect(page?.record.status).toBe('ok');
    return page!.record;
  };

  it('reports one ok row per page', () => {
    expect([...results.keys()].sort()).toEqual([...Object.keys(SYNTHETIC), ...PHOTOS].sort());
  });

  it.each(['curled-two-columns.jpg', 'curled-one-column.jpg'])('measures %s as curved, dewarps it and finds it straighter', (key) => {
    const r = record(key);
    console.log(`${key}: curvature ${r.curvature_px?.toFixed(2)} px, after ${r.transform} ${r.residual_curvature_px?.toFixed(2)} px, confidence ${r.confidence?.toFixed(2)}`);
    expect(r.curvature_px).toBeGreaterThan(cfg.curvatureThresholdPx);
    expect(r.confidence).toBeGreaterThanOrEqual(cfg.minConfidence);
    expect(r.transform).toBe('tps');
    expect(r.passes).toBe(2);
    expect(r.residual_curvature_px!).toBeLessThan(r.curvature_px!);
  });

  it('chains a curled page’s lines across the column gutter into whole lines', () => {
    const { first } = results.get('curled-two-columns.jpg')!;
    const width = first!.width;
    const spanning = first!.lines.filter((l) => Math.abs(l.points[l.points.length - 1][0] - l.points[0][0]) > 0.6 * width);
    expect(spanning.length).toBeGreaterThan(first!.textLines / 2);
  });

  it.each(['straight-one-column.jpg', 'straight-two-columns-skewed.jpg'])('measures %s as straight', (key) => {
    const r = record(key);
    console.log(`${key}: curvature ${r.curvature_px?.toFixed(2)} px, transform ${r.transform}`);
    expect(r.curvature_px).toBeLessThan(STRAIGHT_MAX_PX);
    expect(r.transform).not.toBe('tps');
  });

  it.each(PHOTOS)('measures the photo %s as curved', (key) => {
    const r = record(key);
    console.log(`${key}: curvature ${r.curvature_px?.toFixed(2)} px, confidence ${r.confidence?.toFixed(2)}, transform ${r.transform}`);
    expect(r.curvature_px).toBeGreaterThan(cfg.curvatureThresholdPx);
  });
});
