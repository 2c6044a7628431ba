import Piscina from 'piscina';
import type { PipelineConfig } from '../src/config';
import { buffersOf } from '../src/infer/transfer';
import type { ModelAdapter } from '../src/model/adapter';
import { byteAdapter } from '../src/model/byteModel';
import type { BatchResult, BatchTask } from '../src/infer/batchedModel';
import { inferWorkerData } from '../src/stages/gpuBatcher';
import type { PatchSet } from '../src/types';
import { closePool, startPool } from '../src/workerFile';
import { cpuMeter } from './cpu';

/**
 * The model alone: the pipeline's inference threads (byte model, `cfg.device`, `cfg.inferWorkers` ×
 * `cfg.batchesInFlight` places), fed from memory with nothing else running.
 */
export class ModelOnly {
  private constructor(private readonly pool: Piscina, private readonly cfg: PipelineConfig, private readonly size: number) {}

  /** Starts `cfg.inferWorkers` threads of `cfg.inferThreads` intra-op threads each on `cfg.device` and warms them up. */
  static async start(cfg: PipelineConfig, adapter: ModelAdapter): Promise<ModelOnly> {
    const workerData = inferWorkerData(cfg, byteAdapter(adapter));
    const pool = startPool('infer', {
      minThreads: cfg.inferWorkers, maxThreads: cfg.inferWorkers, concurrentTasksPerWorker: cfg.batchesInFlight, idleTimeout: Infinity, workerData,
    });
    await Promise.all(Array.from({ length: cfg.inferWorkers }, () => pool.run(null, { name: 'prepare' })));
    return new ModelOnly(pool, cfg, adapter.layout.patchSize);
  }

  /** Packs the patches into full batches (the last one partial), before any clock runs. */
  pack(patchSets: PatchSet[]): BatchTask[] {
    const { batchSize } = this.cfg;
    const patch = 3 * this.size * this.size;
    const total = patchSets.reduce((n, set) => n + set.count, 0);
    const tasks: BatchTask[] = [];
    for (let first = 0; first < total; first += batchSize) {
      const count = Math.min(batchSize, total - first);
      tasks.push({ model: 'detector', input: new Uint8Array(batchSize * patch), output: new Uint8Array(batchSize * this.size * this.size), count });
    }
    let at = 0;
    for (const set of patchSets) {
      for (let i = 0; i < set.count; i++, at++) {
        const task = tasks[Math.floor(at / batchSize)];
        task.input.set(set.data.subarray(i * patch, (i + 1) * patch), (at % batchSize) * patch);
      }
    }
    return tasks;
  }

  /** Runs every batch with all threads busy (twice their places queued); returns seconds and patches. */
  async run(tasks: BatchTask[]): Promise<{ seconds: number; patches: number; cpuSeconds: number }> {
    const started = performance.now();
    const cpu = cpuMeter();
    let next = 0;
    const feed = async (): Promise<void> => {
      for (let i = next++; i < tasks.length; i = next++) {
        const result: BatchResult = await this.pool.run(tasks[i], { name: 'runBatch', transferList: buffersOf(tasks[i].input, tasks[i].output) });
        tasks[i] = { ...tasks[i], input: result.input, output: result.output };
      }
    };
    await Promise.all(Array.from({ length: 2 * this.cfg.inferWorkers * this.cfg.batchesInFlight }, feed));
    return { seconds: (performance.now() - started) / 1000, patches: tasks.reduce((n, t) => n + t.count, 0), cpuSeconds: cpu().self };
  }

  close(): Promise<void> {
    return closePool(this.pool);
  }
}
