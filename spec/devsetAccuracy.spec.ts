import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devPages, readWithRxvolume, relativeError, renderVariant, score, variantsOf, type KindRow, type Reading, type Variant } from '../bench/accuracy';
import { resolveConfig, type PageResult, type PipelineConfig } from '../src';
import { runFolder } from './helpers/runFolder';

/** Runs the folder `input` through the default model; its pages by key. */
async function runDevset(input: string, output: string, settings: Partial<PipelineConfig>): Promise<Map<string, PageResult>> {
  const { results, published } = await runFolder(input, output, settings, 'devset');
  expect(published).toMatchObject({ status: 'published', errors: 0 });
  return results;
}
/**
 * Issue 17 on the dev set of real scans (spec/fixtures/devset, see its README), end to end through
 * the whole pipeline with the default model: the originals turned and skewed by known angles at
 * run time (few angles, to stay well under two minutes on two cores; `npm run accuracy` runs the
 * full table). The issue's goals are asserted as such: no upright page reported as turned, no
 * false correction, absolute skew median 0.04° / max 0.3°, relative skew median 0.03° / p95 0.15°
 * over all readings (the newspapers' too, read by the page search where their lines cannot
 * measure them), turned pages right ≥ 99 %.
 */
const PLAN = { angles: [0, -8, 2.4, 15], turnedAngles: [0], dark: ['book_kant_1784.jpg'] };

describe('orientation and skew on the dev set of real scans', () => {
  let variants: Variant[];
  let readings: Map<string, Reading>;
  let all: KindRow;

  beforeAll(async () => {
    variants = variantsOf(await devPages(), PLAN);
    ({ readings } = await readWithRxvolume(variants));
    expect(readings.size).toBe(variants.length);
    const rows = score(variants, readings, { orientation: true, skew: true, corrections: true });
    console.log(rows.map((r) => `${r.kind}: upright→turned ${r.falseTurns}/${r.upright}, turned right ${r.turnedRight}/${r.turned}, rel median ${r.relMedian?.toFixed(3)} p95 ${r.relP95?.toFixed(3)}, abs median ${r.absMedian?.toFixed(3)} max ${r.absMax?.toFixed(3)}, false corrections ${r.falseCorrections}`).join('\n'));
    all = rows.find((r) => r.kind === 'all') as KindRow;
  }, 600_000);

  it('reports no upright page as turned', () => {
    const wrong = variants.filter((v) => v.turn === 0 && readings.get(v.key)?.orientationDeg !== 0).map((v) => `${v.key}: ${readings.get(v.key)?.orientationDeg}`);
    expect(wrong).toEqual([]);
  });

  it('tells the turn of at least 99 % of turned pages (goal), every turned book, old print, dark low-contrast, figure and two-column page among them', () => {
    const wrong = variants.filter((v) => v.turn !== 0 && readings.get(v.key)?.orientationDeg !== v.turn);
    expect(wrong.filter((v) => ['book', 'old-print', 'dark-low-contrast', 'figure', 'book-2col'].includes(v.page.kind)).map((v) => `${v.key}: ${readings.get(v.key)?.orientationDeg}`)).toEqual([]);
    // 33 of 33 with the lines' ascender vote (30 without: Fleming 1719 turned 90 and 180, the
    // Weekly Journal turned 180).
    expect(all.turnedRight / all.turned).toBeGreaterThanOrEqual(0.99);
  });

  it('turns a sideways page whose lines the detector breaks into glyphs, to read which way up it is, and publishes it upright and level (the 150 dpi typewriter page at 2.3°)', async () => {
    // Turned by 90° and skewed, its lines read as glyph fragments (axis agreement 0.23, direction
    // confidence 0.10): too unsure to turn by. Turned onto its axis, the next pass reads it.
    const typewriter = (await devPages()).filter((p) => p.kind === 'typewriter-150dpi');
    const turned = variantsOf(typewriter, { angles: [0], turnedAngles: [2.3], dark: [] });
    const tmp = await mkdtemp(join(tmpdir(), 'rxvolume-probe-'));
    try {
      const [input, images] = [join(tmp, 'in'), join(tmp, 'images')];
      await Promise.all([mkdir(input), mkdir(images)]);
      for (const v of turned) await writeFile(join(input, v.key), await renderVariant(v));
      const results = await runDevset(input, join(tmp, 'out'), { images: 'jpeg' });
      const row = (v: Variant) => results.get(v.key)!.record;
      expect(turned.filter((v) => row(v).orientation_deg !== v.turn).map((v) => `${v.key}: ${row(v).orientation_deg}°`)).toEqual([]);
      // Its skew is the reading after the turn, along whole lines (the first pass read 0.65°), and
      // a third pass checked its deskew: turned and deskewed in one rotation of the original.
      const probed = turned.find((v) => v.turn === 90)!;
      const base = turned.find((v) => v.turn === 0)!;
      expect(Math.abs((row(probed).skew_deg as number) - (row(base).skew_deg as number) - probed.angle)).toBeLessThanOrEqual(0.15);
      expect(row(probed)).toMatchObject({ passes: 3, transform: 'rotate', applied_rotation_deg: expect.closeTo(90 + (row(probed).skew_deg as number), 2) });
      // Every published image reads upright and level.
      for (const v of turned) await copyFile(join(tmp, 'out', row(v).image_key as string), join(images, v.key));
      const again = await runDevset(images, join(tmp, 'out-again'), { maxPasses: 1 });
      const tilted = [...again.values()].map(({ record }) => record).filter((r) => r.orientation_deg !== 0 || !(Math.abs(r.skew_deg as number) <= 0.2));
      expect(tilted.map((r) => `${r.key}: ${r.orientation_deg}° ${r.skew_deg}°`)).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 180_000);

  it('publishes an orientation confidence for every page', () => {
    for (const v of variants) {
      const c = readings.get(v.key)?.orientationConfidence;
      expect(typeof c).toBe('number');
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(1);
    }
  });

  it('measures skew relative to the page’s own over ±15° to a median of 0.03° and a p95 of 0.15° (goal), the confident readings too', () => {
    expect(all.relCount).toBeGreaterThan(20);
    // Without the page search the newspapers' readings scatter by up to 0.8° (p95 ≈ 0.5°).
    expect(all.relMedian).toBeLessThanOrEqual(0.03);
    expect(all.relP95).toBeLessThanOrEqual(0.15);
    // The readings the controller acts on (skew confidence ≥ minConfidence), in the right orientation.
    const { minConfidence } = resolveConfig({ input: 'in', output: 'out' });
    const base = (v: Variant) => readings.get(variants.find((w) => w.page.file === v.page.file && w.dark === v.dark && w.turn === 0 && w.angle === 0)?.key ?? '');
    const confident = variants
      .filter((v) => v.angle !== 0 && readings.get(v.key)?.orientationDeg === v.turn && (readings.get(v.key)?.skewConfidence ?? 0) >= minConfidence)
      .map((v) => Math.abs(relativeError(v, readings.get(v.key), base(v)) ?? Infinity))
      .sort((a, b) => a - b);
    expect(confident.length).toBeGreaterThan(15);
    expect(confident[Math.ceil(0.95 * confident.length) - 1]).toBeLessThanOrEqual(0.15);
  });

  it('corrects no upright original away from its own skew, and agrees with the second method to a median of 0.04° and a max of 0.3° (goal)', () => {
    expect(all.falseCorrections).toBe(0);
    expect(all.absMedian).toBeLessThanOrEqual(0.04);
    expect(all.absMax).toBeLessThanOrEqual(0.3);
  });
});
