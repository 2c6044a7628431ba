import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const ortBin = dirname(require.resolve('onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'));
const providerDirs = [ortBin, ...(process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean)];

/**
 * Whether this machine has the CUDA setup README ("GPU") documents: the provider library beside
 * onnxruntime-node's libonnxruntime.so (or on LD_LIBRARY_PATH) and an NVIDIA device. Read from the
 * files, independently of the code under test.
 */
export const cudaSetUp = providerDirs.some((dir) => existsSync(join(dir, 'libonnxruntime_providers_cuda.so'))) && existsSync('/dev/nvidiactl');
