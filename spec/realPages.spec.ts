import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type PageResult, type PipelineConfig } from '../src';
import { runFolder } from './helpers/runFolder';

/** Four phone photos of real book pages (spec/fixtures/real-pages, see its README). */
const REAL_PAGES = join(__dirname, 'fixtures', 'real-pages');

/** Runs the folder `input` through the default model; its pages by key. */
async function runReal(input: string, output: string, settings: Partial<PipelineConfig>): Promise<Map<string, PageResult>> {
  const { results, published } = await runFolder(input, output, settings, 'real');
  expect(published).toMatchObject({ status: 'published', pages: 4, errors: 0 });
  return results;
}
describe('real page photos through the whole pipeline (default model)', () => {
  let tmp: string;
  let results: Map<string, PageResult>;
  /** By key: the published page image, read again by the default model (one pass, measuring only). */
  let again: Map<string, PageResult>;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-real-'));
    const photos = (await readdir(REAL_PAGES)).filter((f) => f.endsWith('.jpg'));
    expect(photos).toHaveLength(4);
    const [input, published] = [join(tmp, 'in'), join(tmp, 'published')];
    await mkdir(input);
    await mkdir(published);
    for (const photo of photos) await copyFile(join(REAL_PAGES, photo), join(input, photo));
    results = await runReal(input, join(tmp, 'out'), { images: 'jpeg' });
    for (const [key, { record }] of results) await copyFile(join(tmp, 'out', record.image_key as string), join(published, key));
    again = await runReal(published, join(tmp, 'out-again'), { maxPasses: 1 });
  }, 300_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('reads every photo’s published image upright and level: |skew| ≤ 0.2° (issue 16)', () => {
    const read = [...again].map(([key, { record }]) => ({ key, orientation: record.orientation_deg, skew: record.skew_deg as number }));
    expect(read).toHaveLength(4);
    expect(read.filter((r) => r.orientation !== 0 || !(Math.abs(r.skew) <= 0.2))).toEqual([]);
  });

  it('reads the photo taken at a slant by its fanned lines’ middle, sure enough to act on', () => {
    // Perspective fans its lines from +4.5° at the top to −4.6° at the bottom; the middle is level.
    const { record } = results.get('linguistics_thesis_a.jpg') as PageResult;
    expect(record.confidence as number).toBeGreaterThanOrEqual(resolveConfig({ input: 'x', output: 'x' }).minConfidence);
    expect(Math.abs(record.skew_deg as number)).toBeLessThan(0.3);
  });

  it('dewarps the photo taken at a slant: the lines of its published image no longer fan out', () => {
    const key = 'linguistics_thesis_a.jpg';
    const { record, first } = results.get(key) as PageResult;
    expect(first?.fanDeg).toBeGreaterThan(5);
    expect(record.transform).toBe('tps');
    expect(again.get(key)?.first?.fanDeg).toBe(0);
  });

  it('turns the photo taken sideways upright', () => {
    const { record } = results.get('linguistics_thesis_b.jpg') as PageResult;
    expect(record.orientation_deg).toBe(90);
    expect(record.transform).toBe('rotate');
    expect(Math.abs(record.residual_skew_deg as number)).toBeLessThan(1);
  });

  it('dewarps the curled cookbook pages and reports straighter lines', () => {
    for (const key of ['boston_cooking_a.jpg', 'boston_cooking_b.jpg']) {
      const { record } = results.get(key) as PageResult;
      expect(record.status).toBe('ok');
      expect(record.transform).toBe('tps');
      expect(record.residual_curvature_px as number).toBeLessThan(record.curvature_px as number);
    }
  });

  it('reports the real pages with their size and text lines', () => {
    for (const { record } of results.values()) {
      expect(record.width).toBeGreaterThan(2000);
      expect(record.text_lines).toBeGreaterThan(10);
    }
  });
});
