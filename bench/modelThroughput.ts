/**
 * Model throughput: raw patches/s of the model in memory (ONNX session in this process, several
 * thread/batch configs, the best one reported) against patches/s through the GpuBatcher (frames in,
 * summaries out), with the batcher's batch fill ratio. Prints one JSON object.
 *
 *   npm run build && node dist/bench/modelThroughput.js [--model default|tiny|file.onnx] [--frames N]
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { EMPTY, from, lastValueFrom, toArray } from 'rxjs';
import { resolveConfig, type PipelineConfig } from '../src/config';
import { tilePatches } from '../src/decode/tile';
import { BatchFill } from '../src/infer/batchFill';
import { modelAdapter, type ModelAdapter } from '../src/model/adapter';
import { GpuBatcher } from '../src/stages/gpuBatcher';
import { renderSyntheticPage } from '../src/synth/pages';
import { isFailed, pageWork, type DecodedPage } from '../src/page';
import type { DecodedFrame } from '../src/types';
import { scriptFlags } from './args';
import { runMain } from './fixture';

/** One synthetic page at analysis scale, tiled. */
async function frame(cfg: PipelineConfig, adapter: ModelAdapter): Promise<DecodedFrame> {
  const page = await renderSyntheticPage({ seed: 1, skewDeg: 2 });
  const side = cfg.analysisMaxSide;
  const { data, info } = await sharp(page).resize({ width: side, height: side, fit: 'inside' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const pixels = Uint8Array.from(data);
  return { width: info.width, height: info.height, channels: 3, pixels, sourceWidth: 1240, sourceHeight: 1754, patches: tilePatches(pixels, info.width, info.height, adapter.layout) };
}

/** Patches/s of one in-process session with `threads` intra-op threads running batches of `batch`. */
async function raw(adapter: ModelAdapter, threads: number, batch: number, patches: number): Promise<number> {
  const session = await ort.InferenceSession.create(adapter.modelPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const size = adapter.layout.patchSize;
  const x = new ort.Tensor('float32', new Float32Array(batch * 3 * size * size).fill(1), [batch, 3, size, size]);
  await session.run({ [adapter.inputName]: x });
  const runs = Math.max(1, Math.round(patches / batch));
  const start = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ [adapter.inputName]: x });
  const seconds = (performance.now() - start) / 1000;
  await session.release();
  return (runs * batch) / seconds;
}

/** Patches/s and fill ratio of the batcher over `count` copies of a frame. */
async function batched(cfg: PipelineConfig, adapter: ModelAdapter, base: DecodedFrame, count: number, inferWorkers: number, inferThreads: number) {
  const batcher = await GpuBatcher.create({ ...cfg, inferWorkers, inferThreads }, adapter);
  const works: DecodedPage[] = Array.from({ length: count }, (_, seq) => ({
    ...pageWork({ volumeId: 'bench', key: String(seq), etag: '', size: 0, seq }),
    state: 'decoded',
    frame: { ...base, pixels: base.pixels.slice() },
  }));
  const fill = new BatchFill(cfg.batchSize);
  const start = performance.now();
  const out = await lastValueFrom(batcher.run(from(works), EMPTY, { fill }).pipe(toArray()));
  const seconds = (performance.now() - start) / 1000;
  await batcher.close();
  const failure = out.find(isFailed);
  if (failure) throw new Error(failure.error);
  return { inferWorkers, inferThreads, patchesPerSec: (count * base.patches.count) / seconds, pagesPerSec: count / seconds, fillRatio: fill.ratio, batches: fill.batches, mixedBatches: fill.mixed };
}

async function main(): Promise<void> {
  const f = scriptFlags('modelThroughput', [
    { name: 'model', kind: 'string', value: '<default|tiny|file.onnx>', help: 'the model (default: default, PP-OCRv4)' },
    { name: 'frames', kind: 'int', value: '<n>', help: 'frames through the batcher per config (default 8)' },
  ]);
  const model = f.string('model') ?? 'default';
  const frames = f.int('frames') ?? 8;
  const cfg = resolveConfig({ input: 'bench', output: 'bench', model, analysisMaxSide: 1024, patchSize: 512, patchOverlap: 32, batchSize: 4 });
  const adapter = await modelAdapter(cfg);
  const base = await frame(cfg, adapter);
  const sample = model === 'tiny' ? 64 : 8;
  const rawConfigs = [];
  for (const threads of [1, 2]) for (const batch of [1, 4]) rawConfigs.push({ threads, batch, patchesPerSec: await raw(adapter, threads, batch, sample) });
  const best = rawConfigs.reduce((a, b) => (b.patchesPerSec > a.patchesPerSec ? b : a));
  const viaBatcher = [await batched(cfg, adapter, base, frames, 2, 1), await batched(cfg, adapter, base, frames, 1, 2)];
  console.log(JSON.stringify({
    model: adapter.name, patchSize: cfg.patchSize, batchSize: cfg.batchSize, frame: [base.width, base.height], patchesPerFrame: base.patches.count, frames,
    raw: { configs: rawConfigs, best }, viaBatcher,
    batcherVsRaw: Math.max(...viaBatcher.map((b) => b.patchesPerSec)) / best.patchesPerSec,
  }, (_, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v), 2));
}

runMain(main);
