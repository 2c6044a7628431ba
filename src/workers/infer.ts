import Piscina from 'piscina';
import * as ort from 'onnxruntime-node';
import { threadId } from 'node:worker_threads';
import type { ModelAdapter } from '../model/adapter';
import { shapeFor } from '../infer/batchShapes';
import { openSession, type OpenSession } from '../infer/session';
import { buffersOf, moveWith } from '../infer/transfer';

/**
 * Inference worker: one ONNX session per thread (opened and warmed up on first use) that runs
 * micro-batches of byte patches through a byte model (see `byteAdapter`), and nothing else.
 * Buffers come in transferred and go back transferred, so the caller reuses them.
 */
export interface InferWorkerData {
  /** A byte model's adapter (`io: 'uint8'`). */
  adapter: ModelAdapter;
  device: 'cpu' | 'cuda' | 'auto';
  threads: number;
  batchSize: number;
}

export interface BatchTask {
  /** batchSize byte patches' room (CHW RGB); the first `count` patches are filled. */
  input: Uint8Array;
  /** batchSize byte maps' room (255·p); the first `count` are written. */
  output: Uint8Array;
  count: number;
}

export interface BatchResult {
  input: Uint8Array;
  output: Uint8Array;
  ms: number;
}

export interface PrepareResult {
  threadId: number;
  device: 'cpu' | 'cuda';
  fallback?: string;
}

const config = Piscina.workerData as InferWorkerData;
if (config.adapter.io !== 'uint8') throw new Error(`inference threads run byte models; wrap ${config.adapter.name} with byteAdapter`);
const size = config.adapter.layout.patchSize;
let opened: Promise<OpenSession> | undefined;

/** This thread's session, opened once and warmed up by one run at `batchSize` (see `shapeFor`). */
function session(): Promise<OpenSession> {
  opened ??= openSession(config.adapter, config.device, config.threads).then(async (open) => {
    const n = config.batchSize;
    await open.session.run({ [config.adapter.inputName]: new ort.Tensor('uint8', new Uint8Array(n * 3 * size * size), [n, 3, size, size]) });
    return open;
  });
  return opened;
}

/** Opens and warms up this thread's session; says which device it got. */
export async function prepare(): Promise<PrepareResult> {
  const { device, fallback } = await session();
  return { threadId, device, fallback };
}

/** Runs one micro-batch (on CUDA padded up to a warmed-up shape; the padding is whatever the buffer held). */
export async function runBatch(task: BatchTask): Promise<BatchResult> {
  const { session: s, device } = await session();
  const start = performance.now();
  const shape = shapeFor(task.count, config.batchSize, device);
  const x = new ort.Tensor('uint8', task.input.subarray(0, shape * 3 * size * size), [shape, 3, size, size]);
  const out = await s.run({ [config.adapter.inputName]: x });
  task.output.set((out[config.adapter.outputName].data as Uint8Array).subarray(0, task.count * size * size));
  return moveWith({ input: task.input, output: task.output, ms: performance.now() - start }, buffersOf(task.input, task.output));
}
