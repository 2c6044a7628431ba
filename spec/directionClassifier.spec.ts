import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';
import { EMPTY, from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { Credits, acquireCredit } from '../operators';
import { resolveConfig } from '../src/config';
import { defaultAdapter } from '../src/model/adapter';
import { DirectionClassifier } from '../src/stages/classifier';
import { Decoder } from '../src/stages/decoder';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { Summariser } from '../src/stages/summariser';
import { pageWork, type InferredPage } from '../src/page';
import type { PageSummary } from '../src/types';
import { inWorker } from './helpers/inWorker';

/** Page by page on one thread, as the analysis threads did before: stitch, text lines, the classifier on each page's crops (both rounds at once), the summary. */
const PAGE_BY_PAGE = `
  const { cropClassifier } = require(DIST + '/src/infer/cropClassifier');
  const { stitchProbabilities } = require(DIST + '/src/infer/stitch');
  const { classifyRounds, directionRequest, orientPage } = require(DIST + '/src/model/orientation');
  const { findTextLines, summarizeGeometry } = require(DIST + '/src/model/textlines');
  const single = await cropClassifier(input.classifier);
  const out = {};
  for (const { key, maps, pixels, grid, width, height } of input.pages) {
    const geometry = findTextLines(stitchProbabilities(maps, grid, width, height), width, height, pixels);
    const request = directionRequest(geometry, pixels, width, height);
    out[key] = orientPage(summarizeGeometry(geometry, width, height, false), request, await classifyRounds(request.crops, single.classify));
  }
  await single.release();
  return out;
`;

/**
 * The direction classifier batched across pages on the inference threads (the pipeline) against
 * the classifier run page by page on one thread, as the analysis threads ran it before: on real
 * pages, upright and turned, both give the same summaries.
 */
const cfg = resolveConfig({
  input: 'unused', output: 'unused', analysisMaxSide: 768, patchSize: 512, patchOverlap: 32,
  decodeWorkers: 1, inferWorkers: 2, inferThreads: 1, analysisWorkers: 2, batchSize: 4, batchMaxWaitMs: 20, batcherSlots: 8,
});
const adapter = defaultAdapter(cfg);
const fixture = (...path: string[]) => readFileSync(resolve(__dirname, 'fixtures', ...path));
const turned = async (bytes: Buffer, deg: number) => sharp(await sharp(bytes).rotate().toBuffer()).rotate(deg).jpeg({ quality: 90 }).toBuffer();

async function pages(): Promise<Array<{ key: string; bytes: Uint8Array }>> {
  return [
    { key: 'boston_a', bytes: fixture('real-pages', 'boston_cooking_a.jpg') },
    { key: 'thesis_b', bytes: fixture('real-pages', 'linguistics_thesis_b.jpg') },
    { key: 'kant', bytes: fixture('devset', 'book_kant_1784.jpg') },
    { key: 'kant_180', bytes: await turned(fixture('devset', 'book_kant_1784.jpg'), 180) },
    { key: 'herold_180', bytes: await turned(fixture('devset', 'news_herold_1839.jpg'), 180) },
    { key: 'pembroke_270', bytes: await turned(fixture('devset', 'book_pembroke_1766.jpg'), 270) },
  ];
}

describe('DirectionClassifier (crops batched across pages) against the classifier page by page', () => {
  it('gives the same summaries, orientation and its confidence included', async () => {
    const decoder = new Decoder(cfg, adapter.layout);
    const [batcher, summariser] = await Promise.all([GpuBatcher.create(cfg, adapter), Summariser.create(cfg, adapter)]);
    try {
      const fetched = new Credits(4);
      const decoded = from(await pages()).pipe(
        mergeMap(async ({ key, bytes }, seq) => ({ ...pageWork({ volumeId: 'cls', key, etag: '', size: bytes.length, seq }), state: 'fetched' as const, bytes })),
        acquireCredit(fetched),
        decoder.decode(fetched),
      );
      const inferred = (await lastValueFrom(batcher.run(decoded, EMPTY).pipe(toArray()))).filter((p): p is InferredPage => p.state === 'inferred');
      expect(inferred).toHaveLength(6);

      // Page by page, from copies of the maps and pixels (the pipeline moves them to its threads).
      const input = inferred.map(({ task, maps, frame }) => ({ key: task.key, maps: maps.slice(), pixels: frame.pixels.slice(), grid: frame.patches, width: frame.width, height: frame.height }));
      const expected = new Map(Object.entries(await inWorker<Record<string, PageSummary>>(PAGE_BY_PAGE, { pages: input, classifier: adapter.classifier })));

      const summarised = await lastValueFrom(from(inferred).pipe(summariser.summarise(), new DirectionClassifier(batcher.classifier).classify(), toArray()));
      const got = new Map(summarised.map((p) => [p.task.key, p.state === 'summarised' ? p.summary : p.error]));
      expect(new Set([...expected.values()].map((s) => s.orientationDeg))).toEqual(new Set([0, 90, 180, 270]));
      for (const [key, summary] of expected) expect({ key, summary: got.get(key) }).toEqual({ key, summary });
    } finally {
      await Promise.all([decoder.close(), batcher.close(), summariser.close()]);
    }
  });
});
