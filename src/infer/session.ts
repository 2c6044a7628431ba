import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { ModelAdapter } from '../model/adapter';

export type Device = 'cpu' | 'cuda';

export interface OpenSession {
  session: ort.InferenceSession;
  device: Device;
  /** Why `auto` fell back to the CPU, when it did. */
  fallback?: string;
}

/**
 * Opens the adapter's model on one thread's session: checks the file's sha256, then creates the
 * session on the requested device. `cuda` is strict (the CUDA provider's error is thrown with
 * advice); `auto` tries CUDA and falls back to the CPU, reporting why in `fallback`.
 *
 * Getting the CUDA provider: onnxruntime-node 1.29.0 ships CPU only on Linux; its CUDA 13 provider
 * libraries (libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so) come in the npm
 * package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9. Copy them beside onnxruntime-node's
 * bin/napi-v6/linux/x64/libonnxruntime.so (or put their folder on LD_LIBRARY_PATH), with CUDA 13
 * and cuDNN 9 installed, then run with `device: 'cuda'` (or `auto`).
 */
export async function openSession(adapter: Pick<ModelAdapter, 'name' | 'modelPath' | 'sha256'>, device: 'cpu' | 'cuda' | 'auto', threads: number): Promise<OpenSession> {
  const bytes = readFileSync(adapter.modelPath);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== adapter.sha256) throw new Error(`model ${adapter.modelPath} has sha256 ${sha}, adapter ${adapter.name} expects ${adapter.sha256}`);
  const options = (providers: Device[]): ort.InferenceSession.SessionOptions => ({
    executionProviders: providers,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // On the CPU no memory pattern: ONNX Runtime would plan and keep one block per input shape
    // (the classifier runs at many batch sizes); without it a thread holds ≈ 37 MB less at the
    // same CPU a patch (bench/RESULTS.md, fifth session). On CUDA it stays on.
    enableMemPattern: !providers.includes('cpu'),
  });
  if (device === 'cpu') return { session: await ort.InferenceSession.create(bytes, options(['cpu'])), device: 'cpu' };
  try {
    // ONNX Runtime's own log of a provider that does not load (a multi-line [E:onnxruntime] dump per
    // thread) is silenced: the reason is reported once, below, in one line.
    ort.env.logLevel = 'fatal';
    return { session: await ort.InferenceSession.create(bytes, options(['cuda'])), device: 'cuda' };
  } catch (err) {
    const reason = `CUDA execution provider did not load: ${(err as Error).message.split('\n')[0]}`;
    if (device === 'cuda') throw new Error(`${reason} (README, section GPU, says how to install it)`);
    return { session: await ort.InferenceSession.create(bytes, options(['cpu'])), device: 'cpu', fallback: reason };
  }
}
