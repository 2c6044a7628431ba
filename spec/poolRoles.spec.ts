import { join } from 'node:path';
import { EMPTY, Subject, from, lastValueFrom, toArray } from 'rxjs';
import { resolveConfig } from '../src/config';
import { tilePatches } from '../src/decode/tile';
import { BatchFill } from '../src/infer/batchFill';
import { defaultAdapter, tinyAdapter, type ModelAdapter } from '../src/model/adapter';
import { DirectionClassifier } from '../src/stages/classifier';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { Summariser } from '../src/stages/summariser';
import { pageWork, type AnalysedPage, type DecodedPage, type SummarisedPage } from '../src/page';

const cfg = resolveConfig({
  input: 'unused', output: 'unused',
  patchSize: 64, patchOverlap: 8, batchSize: 4, batcherSlots: 6, inferWorkers: 1, analysisWorkers: 2, inferThreads: 1,
});
/** The tiny model, summarized by a fixture that says which thread (and pool) summarized each page. */
const adapter: ModelAdapter = {
  ...tinyAdapter(cfg),
  summarizer: { module: join(__dirname, 'fixtures', 'threadSummarizer.js'), exportName: 'summarizeOnThread', options: {} },
};

/** A white frame with dark bars (3 px tall), tiled for the tiny model. */
function barsPage(seq: number): DecodedPage {
  const [width, height] = [140 + 10 * seq, 120];
  const pixels = new Uint8Array(width * height * 3).fill(255);
  for (let y = 10; y < 100; y += 20) for (let dy = 0; dy < 3; dy++) pixels.fill(0, ((y + dy) * width + 10) * 3, ((y + dy) * width + width - 10) * 3);
  return {
    ...pageWork({ volumeId: 'v', key: `p${seq}`, etag: 'e', size: 1, seq }),
    state: 'decoded',
    frame: { width, height, channels: 3, pixels, sourceWidth: width, sourceHeight: height, patches: tilePatches(pixels, width, height, tinyAdapter(cfg).layout) },
  };
}

/** The tiny detector, analysed as the default model is (line crops), with the default direction classifier on the inference threads. */
const withClassifier: ModelAdapter = {
  ...tinyAdapter(cfg),
  summarizer: { module: join(__dirname, 'fixtures', 'threadAnalyser.js'), exportName: 'analyseOnThread', options: {} },
  classifier: defaultAdapter(cfg).classifier,
};

describe('GpuBatcher pool roles', () => {
  it('summarizes pages on the analysis threads, never on the inference threads', async () => {
    const [batcher, summariser] = await Promise.all([GpuBatcher.create(cfg, adapter), Summariser.create(cfg, adapter)]);
    try {
      const initial$ = new Subject<DecodedPage>();
      const out = lastValueFrom(batcher.run(initial$, EMPTY).pipe(summariser.summarise(), toArray()));
      for (let i = 0; i < 8; i++) initial$.next(barsPage(i));
      initial$.complete();
      const summaries = (await out).map((w) => (w as SummarisedPage).summary as unknown as { threadId: number; poolData: string[] });
      expect(summaries).toHaveLength(8);
      for (const s of summaries) expect(s.poolData).toEqual(['adapter']);
      expect(new Set(summaries.map((s) => s.threadId)).size).toBeLessThanOrEqual(cfg.analysisWorkers);
    } finally {
      await Promise.all([batcher.close(), summariser.close()]);
    }
  });

  it('runs the direction classifier on the inference threads, crops of several pages to a batch; the analysis threads never load ONNX Runtime', async () => {
    const [batcher, summariser] = await Promise.all([GpuBatcher.create(cfg, withClassifier), Summariser.create(cfg, withClassifier)]);
    try {
      const pages = Array.from({ length: 6 }, (_, i) => barsPage(i));
      const analysed = await lastValueFrom(from(pages).pipe((p) => batcher.run(p, EMPTY), summariser.summarise(), toArray()));
      expect(analysed.map((p) => p.state)).toEqual(Array(6).fill('analysed'));
      for (const page of analysed as AnalysedPage[]) expect(page.summary).toMatchObject({ onnxLoaded: false });
      const crops = (analysed as AnalysedPage[]).map((p) => p.direction.crops.rounds[0]);
      expect(Math.min(...crops)).toBeGreaterThan(0);

      const fill = new BatchFill(32);
      const summarised = await lastValueFrom(from(analysed).pipe(new DirectionClassifier(batcher.classifier).classify({ fill }), toArray()));
      expect(summarised.map((p) => p.state)).toEqual(Array(6).fill('summarised'));
      // Every page's first round went through, in fewer batches than one a page (plus what the second rounds fill at the least), most of them mixing pages.
      const firstRounds = crops.reduce((a, b) => a + b, 0);
      expect(fill.patches).toBeGreaterThanOrEqual(firstRounds);
      expect(fill.batches).toBeLessThan(pages.length + Math.ceil((fill.patches - firstRounds) / 32));
      expect(fill.mixed).toBeGreaterThan(0);
    } finally {
      await Promise.all([batcher.close(), summariser.close()]);
    }
  });

  it('runs a byte model: the adapter it reports is the wrapped one', async () => {
    const batcher = await GpuBatcher.create({ ...cfg, analysisWorkers: 1 }, tinyAdapter(cfg));
    try {
      expect(batcher.adapter.io).toBe('uint8');
      expect(batcher.adapter.sha256).not.toBe(tinyAdapter(cfg).sha256);
    } finally {
      await batcher.close();
    }
  });
});
