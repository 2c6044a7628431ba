import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { attribute, floatTensor, tensorValue, modelBytes, node } from './onnxProto';

/** Input and output names of the tiny model. */
export const TINY_INPUT = 'x';
export const TINY_OUTPUT = 'prob';

/**
 * A tiny text-probability model for plumbing tests and benchmarks: one 3×3 convolution (3 → 1
 * channels, padding 1) and a sigmoid, [N,3,H,W] → [N,1,H,W]. Every tap weighs −0.2, so dark pixels
 * (normalised ≈ −2) give ≈ 1 and white paper (≈ +2) ≈ 0 — a crude ink detector.
 */
export function tinyModelBytes(): Uint8Array {
  return modelBytes({
    name: 'tiny-ink',
    nodes: [
      node('Conv', [TINY_INPUT, 'w', 'b'], ['logit'], [attribute('kernel_shape', [3, 3]), attribute('pads', [1, 1, 1, 1])]),
      node('Sigmoid', ['logit'], [TINY_OUTPUT]),
    ],
    initializers: [floatTensor('w', [1, 3, 3, 3], new Array(27).fill(-0.2)), floatTensor('b', [1], [0])],
    inputs: [tensorValue(TINY_INPUT, ['N', 3, 'H', 'W'])],
    outputs: [tensorValue(TINY_OUTPUT, ['N', 1, 'H', 'W'])],
  });
}

/** Writes the tiny model into a cache folder (once per process tree) and returns its path. */
export function tinyModelPath(dir = join(tmpdir(), 'rxvolume-models')): string {
  const file = join(dir, 'tiny-ink.onnx');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, tinyModelBytes());
    renameSync(temp, file);
  }
  return file;
}
