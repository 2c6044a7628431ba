import Piscina from 'piscina';
import * as ort from 'onnxruntime-node';
import { threadId } from 'node:worker_threads';
import type { ModelAdapter } from '../model/adapter';
import type { Summarizer, SummaryOptions } from '../model/summarizers';
import type { PageSummary } from '../types';
import { shapeFor, warmupShapes } from '../infer/batchShapes';
import { normalizePatches } from '../decode/tile';
import { openSession, type OpenSession } from '../infer/session';
import { stitchPatchMaps, type PatchGrid } from '../infer/stitch';
import { buffersOf, moveWith } from '../infer/transfer';

/**
 * Inference worker: one ONNX session per thread (opened and warmed up on first use) that runs
 * micro-batches of patches, and the adapter's summarizer that turns a frame's patch maps into a
 * PageSummary. Buffers come in transferred and go back transferred, so the caller reuses them.
 */
export interface InferWorkerData {
  adapter: ModelAdapter;
  device: 'cpu' | 'cuda' | 'auto';
  threads: number;
  batchSize: number;
}

export interface BatchTask {
  /** batchSize byte patches' room (CHW RGB); the first `count` patches are filled. */
  input: Uint8Array;
  /** batchSize patch maps' room; the first `count` are written. */
  output: Float32Array;
  count: number;
}

export interface BatchResult {
  input: Uint8Array;
  output: Float32Array;
  ms: number;
}

export interface SummarizeTask {
  maps: Float32Array;
  grid: PatchGrid;
  width: number;
  height: number;
  pixels: Uint8Array;
}

export interface SummarizeResult {
  summary: PageSummary;
  pixels: Uint8Array;
  ms: number;
}

export interface PrepareResult {
  threadId: number;
  device: 'cpu' | 'cuda';
  fallback?: string;
}

const config = Piscina.workerData as InferWorkerData;
const size = config.adapter.layout.patchSize;
let opened: Promise<OpenSession> | undefined;
/** This thread's model input: a batch of normalised float32 patches, reused. */
const floats = new Float32Array(config.batchSize * 3 * size * size);
let summarizer: Summarizer | undefined;

/** This thread's session, opened once and run once at every warm-up shape of its device. */
function session(): Promise<OpenSession> {
  opened ??= openSession(config.adapter, config.device, config.threads).then(async (open) => {
    for (const n of warmupShapes(config.batchSize, open.device)) {
      const zeros = new ort.Tensor('float32', new Float32Array(n * 3 * size * size), [n, 3, size, size]);
      await open.session.run({ [config.adapter.inputName]: zeros });
    }
    return open;
  });
  return opened;
}

/** Opens and warms up this thread's session; says which device it got. */
export async function prepare(): Promise<PrepareResult> {
  const { device, fallback } = await session();
  const { module, options } = config.adapter.summarizer;
  await (require(module) as { prepare?: (o: SummaryOptions) => Promise<void> }).prepare?.(options);
  return { threadId, device, fallback };
}

/** Runs one micro-batch (on CUDA padded up to a warmed-up shape). */
export async function runBatch(task: BatchTask): Promise<BatchResult> {
  const { session: s, device } = await session();
  const start = performance.now();
  const shape = shapeFor(task.count, config.batchSize, device);
  const patch = 3 * size * size;
  normalizePatches(task.input.subarray(0, task.count * patch), floats, config.adapter.layout);
  const x = new ort.Tensor('float32', floats.subarray(0, shape * patch), [shape, 3, size, size]);
  const out = await s.run({ [config.adapter.inputName]: x });
  const maps = out[config.adapter.outputName].data as Float32Array;
  task.output.set(maps.subarray(0, task.count * size * size));
  return moveWith({ input: task.input, output: task.output, ms: performance.now() - start }, buffersOf(task.input, task.output));
}

/** Loads the adapter's summarizer (once per thread). */
function loadSummarizer(): Summarizer {
  if (!summarizer) {
    const { module, exportName } = config.adapter.summarizer;
    const loaded = require(module)[exportName] as Summarizer | undefined;
    if (typeof loaded !== 'function') throw new Error(`summarizer ${exportName} not found in ${module}`);
    summarizer = loaded;
  }
  return summarizer;
}

/** Stitches a frame's patch maps and summarizes the page. */
export async function summarize(task: SummarizeTask): Promise<SummarizeResult> {
  const start = performance.now();
  const prob = stitchPatchMaps(task.maps, task.grid, task.width, task.height);
  const summary = await loadSummarizer()({ prob, width: task.width, height: task.height, pixels: task.pixels }, config.adapter.summarizer.options);
  return moveWith({ summary, pixels: task.pixels, ms: performance.now() - start }, buffersOf(task.pixels));
}
