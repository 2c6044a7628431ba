import { spawnSync } from 'node:child_process';
import { tinyModelPath } from '../model/tinyModel';

let loads: boolean | undefined;

/**
 * Whether onnxruntime-node's CUDA execution provider loads here (the provider libraries, CUDA,
 * cuDNN and a device): a session of the tiny generated model is opened on CUDA once, in a child
 * process (a provider that fails cannot take this process down, and no CUDA context stays here),
 * and the answer is remembered for the process. About 0.3–0.8 s on a machine without CUDA.
 * `device: 'auto'` picks its defaults with it (see `resolveConfig`).
 */
export function cudaLoads(): boolean {
  if (loads === undefined) {
    const ort = JSON.stringify(require.resolve('onnxruntime-node'));
    const model = JSON.stringify(tinyModelPath());
    const script = `require(${ort}).InferenceSession.create(${model}, { executionProviders: ['cuda'] }).then(() => process.exit(0), () => process.exit(3));`;
    loads = spawnSync(process.execPath, ['-e', script], { stdio: 'ignore', timeout: 120_000 }).status === 0;
  }
  return loads;
}
