import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { EMPTY, from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { Credits, acquireCredit } from '../operators';
import { resolveConfig } from '../src/config';
import { defaultAdapter } from '../src/model/adapter';
import { Decoder } from '../src/stages/decoder';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { DirectionClassifier } from '../src/stages/classifier';
import { Summariser } from '../src/stages/summariser';
import { renderSyntheticPage } from '../src/synth/pages';
import { pageWork } from '../src/page';
import type { PageSummary } from '../src/types';
import type { AnyPage } from './helpers/pages';

/**
 * The real PP-OCRv4 detector and direction classifier, end to end (decode → batcher → summariser →
 * direction classifier), on
 * synthetic pages with known skew and orientation and on real book photos. Analysis is at 768 px
 * to keep the run short on two cores.
 */
const cfg = resolveConfig({
  input: 'unused', output: 'unused', analysisMaxSide: 768, patchSize: 512, patchOverlap: 32,
  decodeWorkers: 1, inferWorkers: 2, inferThreads: 1, batchSize: 4, batchMaxWaitMs: 20, batcherSlots: 6,
});
const REAL = resolve(__dirname, 'fixtures', 'real-pages');
const ROTATIONS = [0, 90, 180, 270] as const;

interface Page { key: string; bytes: Uint8Array }

/** The stages a page's summary comes from. */
interface Stages {
  decoder: Decoder;
  batcher: GpuBatcher;
  summariser: Summariser;
  classifier: DirectionClassifier;
}

/** Summaries of pages through the decoder, the batcher and the summariser, by key. */
async function summarize({ decoder, batcher, summariser, classifier }: Stages, pages: AsyncIterable<Page> | Page[]): Promise<Map<string, PageSummary>> {
  const fetched = new Credits(4);
  const works = from(pages).pipe(
    mergeMap(async (page, seq) => ({ ...pageWork({ volumeId: 'acc', key: page.key, etag: '', size: page.bytes.length, seq }), state: 'fetched' as const, bytes: page.bytes })),
    acquireCredit(fetched),
    decoder.decode(fetched),
  );
  const out: AnyPage[] = await lastValueFrom(batcher.run(works, EMPTY).pipe(summariser.summarise(), classifier.classify(), toArray()));
  for (const w of out) expect({ key: w.task.key, error: w.error }).toEqual({ key: w.task.key, error: undefined });
  return new Map(out.map((w) => [w.task.key, w.summary as PageSummary]));
}

/** 20 skews spread over [−15°, 15°] (none round), each page turned by one of the four rotations. */
const synthetic = Array.from({ length: 20 }, (_, i) => ({ seed: 700 + i, skewDeg: -15 + (30 * (i + 0.37)) / 20, rotate: ROTATIONS[i % 4] }));

async function* renderAll(): AsyncIterable<Page> {
  for (const spec of synthetic) yield { key: String(spec.seed), bytes: await renderSyntheticPage(spec) };
}

describe('default model accuracy', () => {
  let stages: Stages;
  let straight: Map<string, PageSummary>;
  beforeAll(async () => {
    const [batcher, summariser] = await Promise.all([GpuBatcher.create(cfg, defaultAdapter(cfg)), Summariser.create(cfg, defaultAdapter(cfg))]);
    stages = { decoder: new Decoder(cfg, defaultAdapter(cfg).layout), batcher, summariser, classifier: new DirectionClassifier(batcher.classifier) };
    straight = await summarize(stages, renderAll());
  });
  afterAll(async () => {
    await Promise.all([stages.decoder.close(), stages.batcher.close(), stages.summariser.close()]);
  });

  it('measures skew in [−15°, 15°] to a median error of 0.1° or better', () => {
    const errors = synthetic.map((s) => Math.abs(straight.get(String(s.seed))!.skewDeg - s.skewDeg)).sort((a, b) => a - b);
    const median = (errors[9] + errors[10]) / 2;
    console.log(`skew |error| over ${errors.length} pages: median ${median.toFixed(3)}°, max ${errors[errors.length - 1].toFixed(3)}°`);
    expect(median).toBeLessThanOrEqual(0.1);
  });

  it('tells the orientation of pages turned 0, 90, 180 and 270°', () => {
    expect(synthetic.map((s) => straight.get(String(s.seed))!.orientationDeg)).toEqual(synthetic.map((s) => s.rotate));
    for (const s of synthetic) expect(straight.get(String(s.seed))!.confidence).toBeGreaterThan(0.5);
  });

  it('gives each line’s points in reading direction: along +x, +y, −x, −y for 0, 90, 180, 270°', () => {
    const reading = { 0: [1, 0], 90: [0, 1], 180: [-1, 0], 270: [0, -1] } as const;
    for (const s of synthetic) {
      const [ex, ey] = reading[s.rotate];
      const lines = straight.get(String(s.seed))!.lines;
      const forward = lines.filter(({ points }) => {
        const [[x0, y0], [x1, y1]] = [points[0], points[points.length - 1]];
        return (x1 - x0) * ex + (y1 - y0) * ey > 0;
      });
      expect(forward.length).toBe(lines.length);
    }
  });

  it('reports real book photos as curved and tells their orientation', async () => {
    const photo = (name: string) => readFileSync(resolve(REAL, name));
    const real = await summarize(stages, [
      { key: 'boston_a', bytes: photo('boston_cooking_a.jpg') },
      { key: 'boston_b', bytes: photo('boston_cooking_b.jpg') },
      // Upright first (the photo carries EXIF orientation 6), then turned 90° clockwise.
      { key: 'boston_a_turned', bytes: await sharp(await sharp(photo('boston_cooking_a.jpg')).rotate().toBuffer()).rotate(90).jpeg({ quality: 90 }).toBuffer() },
      // This photo was itself taken turned 90° clockwise: its lines read top to bottom.
      { key: 'thesis_b', bytes: photo('linguistics_thesis_b.jpg') },
    ]);
    const flattest = Math.max(...[...straight.values()].map((s) => s.curvaturePx));
    console.log(`curvaturePx: synthetic straight max ${flattest.toFixed(2)}, boston_a ${real.get('boston_a')!.curvaturePx.toFixed(2)}, boston_b ${real.get('boston_b')!.curvaturePx.toFixed(2)}`);
    expect(real.get('boston_a')!.curvaturePx).toBeGreaterThan(flattest);
    expect(real.get('boston_b')!.curvaturePx).toBeGreaterThan(flattest);
    expect(real.get('boston_a')!.orientationDeg).toBe(0);
    expect(real.get('boston_a_turned')!.orientationDeg).toBe(90);
    expect(real.get('thesis_b')!.orientationDeg).toBe(90);
    for (const s of real.values()) expect(s.textLines).toBeGreaterThan(10);
  });
});
