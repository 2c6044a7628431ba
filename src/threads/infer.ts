import Piscina from 'piscina';
import * as ort from 'onnxruntime-node';
import { threadId } from 'node:worker_threads';
import type { BatchResult, BatchTask, ModelName } from '../infer/batchedModel';
import { shapeFor } from '../infer/batchShapes';
import { openSession, type Device } from '../infer/session';
import { buffersOf, moveWith } from '../infer/transfer';
import type { InferWorkerData, PrepareResult, ThreadModel } from '../stages/gpuBatcher';

/**
 * Inference thread: runs micro-batches through its models (the byte-wrapped detector and, when the
 * adapter has one, the direction classifier), one ONNX session each, opened and warmed up on first
 * use, and nothing else. Buffers come in transferred and go back transferred, so the caller reuses
 * them.
 */
const config = Piscina.workerData as InferWorkerData;
if (config.models.detector.input !== 'uint8') throw new Error(`inference threads run byte models; wrap ${config.models.detector.name} with byteAdapter`);

interface Opened {
  device: Device;
  fallback?: string;
  sessions: Partial<Record<ModelName, ort.InferenceSession>>;
}
let opened: Promise<Opened> | undefined;

const unitLength = (m: ThreadModel) => m.unit.reduce((a, b) => a * b, 1);

/** A zero tensor of `shape` units of `m`, on a buffer of its own (`data` is ignored when absent). */
function tensorOf(m: ThreadModel, shape: number, bytes?: Uint8Array): ort.Tensor {
  const length = shape * unitLength(m);
  const dims = [shape, ...m.unit];
  if (m.input === 'uint8') return new ort.Tensor('uint8', bytes ? bytes.subarray(0, length) : new Uint8Array(length), dims);
  return new ort.Tensor('float32', bytes ? new Float32Array(bytes.buffer, bytes.byteOffset, length) : new Float32Array(length), dims);
}

/** This thread's sessions: the detector's decides the device, the others follow it; each warmed up by one run at its batch size. */
function sessions(): Promise<Opened> {
  opened ??= (async () => {
    const detector = await openSession(config.models.detector, config.device, config.threads);
    const result: Opened = { device: detector.device, fallback: detector.fallback, sessions: { detector: detector.session } };
    if (config.models.classifier) result.sessions.classifier = (await openSession(config.models.classifier, detector.device, config.threads)).session;
    for (const [name, session] of Object.entries(result.sessions) as Array<[ModelName, ort.InferenceSession]>) {
      const m = config.models[name] as ThreadModel;
      await session.run({ [m.inputName]: tensorOf(m, m.batchSize) });
    }
    return result;
  })();
  return opened;
}

/** Opens and warms up this thread's sessions; says which device they got. */
export async function prepare(): Promise<PrepareResult> {
  const { device, fallback } = await sessions();
  return { threadId, device, fallback };
}

/** Runs one micro-batch of a model (on CUDA padded up to its one warmed-up shape; the padding is whatever the buffer held). */
export async function runBatch(task: BatchTask): Promise<BatchResult> {
  const { sessions: open, device } = await sessions();
  const m = config.models[task.model];
  const session = open[task.model];
  if (!m || !session) throw new Error(`this inference thread has no ${task.model} model`);
  const start = performance.now();
  const out = (await session.run({ [m.inputName]: tensorOf(m, shapeFor(task.count, m.batchSize, device), task.input) }))[m.outputName].data as Uint8Array | Float32Array;
  const outBytes = task.output.byteLength / m.batchSize;
  task.output.set(new Uint8Array(out.buffer, out.byteOffset, task.count * outBytes));
  return moveWith({ input: task.input, output: task.output, ms: performance.now() - start }, buffersOf(task.input, task.output));
}
