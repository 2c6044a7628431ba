import { Subject, lastValueFrom, toArray } from 'rxjs';
import { StageStats } from '../operators';
import { resolveConfig } from '../src/config';
import { tilePatches } from '../src/decode/tile';
import { BatchFill } from '../src/infer/batchFill';
import { tinyAdapter } from '../src/model/adapter';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { Summariser } from '../src/stages/summariser';
import { cudaSetUp } from './helpers/cuda';
import { failed, isFailed, pageWork, type DecodedPage, type FailedPage } from '../src/page';
import type { PageSummary, TransformPlan } from '../src/types';

const cfg = resolveConfig({
  input: 'unused', output: 'unused',
  patchSize: 64, patchOverlap: 8, batchSize: 4, batchMaxWaitMs: 5, batcherSlots: 3, inferWorkers: 2, inferThreads: 1,
});
const adapter = tinyAdapter(cfg);


/** A white frame with `bars` dark horizontal bars (3 px tall, 20 px apart), tiled for the tiny model. */
function barsPage(seq: number, width: number, height: number, bars: number, pass = 1): DecodedPage {
  const pixels = new Uint8Array(width * height * 3).fill(255);
  for (let b = 0; b < bars; b++) {
    for (let y = 10 + 20 * b; y < 13 + 20 * b; y++) pixels.fill(0, (y * width + 10) * 3, (y * width + width - 10) * 3);
  }
  const work = pageWork({ volumeId: 'v', key: `p${seq}`, etag: 'e', size: 1, seq });
  return {
    ...work,
    state: 'decoded',
    pass,
    frame: { width, height, channels: 3, pixels, sourceWidth: width, sourceHeight: height, patches: tilePatches(pixels, width, height, adapter.layout) },
  };
}

describe('GpuBatcher with the tiny generated model', () => {
  let batcher: GpuBatcher;
  let summariser: Summariser;
  beforeAll(async () => { [batcher, summariser] = await Promise.all([GpuBatcher.create(cfg, adapter), Summariser.create(cfg, adapter)]); });
  afterAll(() => Promise.all([batcher.close(), summariser.close()]));

  it('runs on the CPU by default', () => expect(batcher.device).toBe('cpu'));

  it('runs the model on every frame of both lanes exactly once, in batches that mix frames (then summarised)', async () => {
    const initial = Array.from({ length: 6 }, (_, i) => barsPage(i, 150 + 10 * i, 130, 5));
    const correction = { first: { textLines: -1 } as PageSummary, plan: { kind: 'rotate', rotateDeg: 1, dewarp: false } as TransformPlan };
    const reprocess = Array.from({ length: 3 }, (_, i) => ({ ...barsPage(10 + i, 120, 110, 4, 2), correction }));
    const broken = failed(pageWork({ volumeId: 'v', key: 'bad', etag: 'e', size: 1, seq: 99 }), 'corrupt jpeg');
    const stats = { merge: new StageStats('merge'), infer: new StageStats('infer'), fill: new BatchFill(cfg.batchSize) };
    const patches = [...initial, ...reprocess].reduce((n, w) => n + w.frame.patches.count, 0);
    const initial$ = new Subject<DecodedPage | FailedPage>();
    const reprocess$ = new Subject<DecodedPage>();
    const out = lastValueFrom(batcher.run(initial$, reprocess$, stats).pipe(summariser.summarise(), toArray()));
    [...initial, broken].forEach((w) => initial$.next(w));
    reprocess.forEach((w) => reprocess$.next(w));
    initial$.complete();
    reprocess$.complete();
    const results = await out;

    expect(results.map((w) => w.task.seq).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12, 99]);
    expect(results.filter(isFailed).map((w) => [w.task.seq, w.error])).toEqual([[99, 'corrupt jpeg']]);
    for (const w of results) {
      if (w.state === 'failed') continue;
      const bars = w.pass === 1 ? 5 : 4;
      expect(w.summary.textLines).toBe(bars);
      expect(w.summary.orientationDeg).toBe(0);
      expect(Math.abs(w.summary.skewDeg)).toBeLessThan(0.5);
      expect(w.correction).toBe(w.pass === 1 ? undefined : correction);
      expect(w.timings.inferMs).toBeGreaterThan(0);
      expect(w.frame.pixels.byteLength).toBe(w.frame.width * w.frame.height * 3);
    }
    expect(stats.fill.patches).toBe(patches);
    expect(stats.fill.mixed).toBeGreaterThan(0);
    expect(stats.fill.ratio).toBeCloseTo(patches / (stats.fill.batches * cfg.batchSize), 10);
    expect(stats.merge.snapshot().lanes).toEqual({ initial: 7, reprocess: 3 });
    // Ten pages through three slots: the merge's in-flight count is the slots still held, so every
    // slot was given back as its page left, and every stage ends empty.
    for (const stage of [stats.merge, stats.infer]) expect(stage.snapshot()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(stats.infer.snapshot().processed).toBe(stats.fill.batches);
  });

  it('refuses a model file whose sha256 does not match the adapter', async () => {
    await expect(GpuBatcher.create({ ...cfg, inferWorkers: 1 }, { ...adapter, sha256: '0'.repeat(64) })).rejects.toThrow(/sha256/);
  });

  it(`cuda: ${cudaSetUp ? 'loads (the documented CUDA setup is here)' : 'fails clearly (no CUDA provider or device here)'}`, async () => {
    const strict = GpuBatcher.create({ ...cfg, inferWorkers: 1, device: 'cuda' }, adapter);
    if (cudaSetUp) {
      const cuda = await strict;
      await cuda.close();
      expect(cuda.device).toBe('cuda');
    } else await expect(strict).rejects.toThrow(/CUDA execution provider did not load/);
  });

  it(`auto: ${cudaSetUp ? 'runs on CUDA without a warning' : 'falls back to the CPU with one warning'}`, async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const auto = await GpuBatcher.create({ ...cfg, device: 'auto' }, adapter);
    await auto.close();
    expect(auto.device).toBe(cudaSetUp ? 'cuda' : 'cpu');
    expect(warn).toHaveBeenCalledTimes(cudaSetUp ? 0 : 1);
    warn.mockRestore();
  });
});
