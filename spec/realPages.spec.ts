import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumeWorker, resolveConfig, type PageResult } from '../src';

/** Four phone photos of real book pages (spec/fixtures/real-pages, see its README). */
const REAL_PAGES = join(__dirname, 'fixtures', 'real-pages');

describe('real page photos through the whole pipeline (default model)', () => {
  let tmp: string;
  let results: Map<string, PageResult>;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rxvolume-real-'));
    const photos = (await readdir(REAL_PAGES)).filter((f) => f.endsWith('.jpg'));
    expect(photos).toHaveLength(4);
    const input = join(tmp, 'in');
    await mkdir(input);
    for (const photo of photos) await copyFile(join(REAL_PAGES, photo), join(input, photo));
    const cfg = resolveConfig({ input, output: join(tmp, 'out') });
    const worker = new VolumeWorker(cfg, undefined, 'real');
    results = new Map();
    worker.pages$.subscribe((page) => results.set(page.record.key, page));
    const published = await worker.run();
    expect(published).toMatchObject({ status: 'published', pages: 4, errors: 0 });
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

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
