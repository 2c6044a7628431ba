import type { PipelineConfig } from '../src/config';
import type { VolumeEngine } from '../src/engine';
import type { S3Context } from '../src/s3/context';
import type { VolumeStatsSnapshot } from '../src/volumePipeline';
import { VolumeWorker } from '../src/worker';
import { cpuMeter, type CpuSpan } from './cpu';

/** One timed run of the full VolumeWorker: S3 listing to the published Parquet table and marker. */
export interface PipelineRun {
  seconds: number;
  pagesPerSec: number;
  pages: number;
  ok: number;
  errors: number;
  transformed: { rotate: number; tps: number };
  /** The stages at the end of the run. */
  stats: VolumeStatsSnapshot;
  /** CPU seconds over the run: this process (all threads) and the S3 server. */
  cpu: CpuSpan;
}

/**
 * Runs the volume at `cfg.input` on a warm engine and publishes it under a fresh volume id (so no
 * run is skipped as already published). The clock covers listing, every stage and the publish.
 */
export async function runPipeline(engine: VolumeEngine, cfg: PipelineConfig, s3: S3Context, volumeId: string, serverPid?: number): Promise<PipelineRun> {
  const worker = new VolumeWorker(cfg, s3, volumeId, undefined, { engine, skipIfPublished: false });
  const started = performance.now();
  const cpu = cpuMeter(serverPid);
  const result = await worker.run();
  const seconds = (performance.now() - started) / 1000;
  return {
    seconds,
    pagesPerSec: result.pages / seconds,
    pages: result.pages,
    ok: result.ok,
    errors: result.errors,
    transformed: result.transformed,
    stats: worker.snapshot(),
    cpu: cpu(),
  };
}
