import { join } from 'node:path';
import { EMPTY, Subject, lastValueFrom, toArray } from 'rxjs';
import { resolveConfig } from '../src/config';
import { tilePatches } from '../src/decode/tile';
import { tinyAdapter, type ModelAdapter } from '../src/model/adapter';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { Summariser } from '../src/stages/summariser';
import { pageWork, type DecodedPage, type SummarisedPage } from '../src/types';

const cfg = resolveConfig({
  input: 'unused', output: 'unused',
  patchSize: 64, patchOverlap: 8, batchSize: 4, batcherSlots: 6, inferWorkers: 1, analysisWorkers: 2, inferThreads: 1,
});
/** The tiny model, summarized by a fixture that says which thread (and pool) summarized each page. */
const adapter: ModelAdapter = {
  ...tinyAdapter(cfg),
  summarizer: { module: join(__dirname, 'fixtures', 'threadSummarizer.js'), exportName: 'summarizeOnThread', options: {} },
};

/** A white frame with dark bars, tiled for the tiny model. */
function barsPage(seq: number): DecodedPage {
  const [width, height] = [140 + 10 * seq, 120];
  const pixels = new Uint8Array(width * height * 3).fill(255);
  for (let y = 10; y < 100; y += 20) pixels.fill(0, (y * width + 10) * 3, (y * width + width - 10) * 3);
  return {
    ...pageWork({ volumeId: 'v', key: `p${seq}`, etag: 'e', size: 1, seq }),
    state: 'decoded',
    frame: { width, height, channels: 3, pixels, sourceWidth: width, sourceHeight: height, patches: tilePatches(pixels, width, height, tinyAdapter(cfg).layout) },
  };
}

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
