import { existsSync } from 'node:fs';
import { InferenceSession } from 'onnxruntime-node';
import type { PipelineConfig } from '../config';
import { customAdapter, defaultAdapter, tinyAdapter, type ModelAdapter } from '../model/adapter';
import { UsageError } from './args';

/**
 * The model `--model` names: none → PP-OCRv4 (the default), `tiny` → the tiny generated ink
 * detector (for tests), otherwise a path to an ONNX text-probability model with one input and one
 * output (their names are read from the file).
 */
export async function adapterFor(model: string | undefined, cfg: PipelineConfig): Promise<ModelAdapter> {
  if (model === undefined) return defaultAdapter(cfg);
  if (model === 'tiny') return tinyAdapter(cfg);
  if (!existsSync(model)) throw new UsageError(`--model: no such file ${model}`);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(model);
  } catch (err) {
    throw new UsageError(`--model: ${model} is not a loadable ONNX model (${(err as Error).message.split('\n')[0]})`);
  }
  const { inputNames, outputNames } = session;
  await session.release();
  if (inputNames.length !== 1 || outputNames.length !== 1) {
    throw new UsageError(`--model: ${model} must have one input and one output, has ${inputNames.length} and ${outputNames.length}`);
  }
  return customAdapter(cfg, model, { input: inputNames[0], output: outputNames[0] });
}
