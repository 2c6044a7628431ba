import { UnrecoverableError, type Job } from 'bullmq';
import { auditTime } from 'rxjs';
import { resolveConfig, type PipelineConfig } from '../config';
import type { VolumeEngine } from '../engine';
import type { S3Context } from '../s3/context';
import { openLocation } from '../store';
import { VolumeWorker, type VolumeResult } from '../worker';
import type { VolumeJobData, VolumeJobProgress } from './queue';

/** Settings a job may set for itself; every other setting is the process's (its engine's) and must match. */
const PER_VOLUME_KEYS: ReadonlyArray<keyof PipelineConfig> = ['staging', 'listPageSize', 'inflightPages', 'prefetchConcurrency', 'rowGroupSize'];

/** What a job runs with: the process's engine, S3 side and naming. */
export interface VolumeJobContext {
  engine: VolumeEngine;
  s3?: S3Context;
  /** `<hostname>:<pid>`, reported in the progress. */
  workerName: string;
  progressIntervalMs: number;
}

/**
 * The job's volume config: the engine's settings with the job's per-volume overrides, its input and
 * output. A job asking for other model or pipeline settings than this process runs cannot be run
 * here (the table would not match its marker's config hash): that fails it for good, with the reason.
 */
export function volumeConfig(engineCfg: PipelineConfig, data: VolumeJobData): PipelineConfig {
  const overrides = data.configOverrides ?? {};
  const differing = (Object.keys(overrides) as Array<keyof PipelineConfig>).filter(
    (key) => !PER_VOLUME_KEYS.includes(key) && JSON.stringify(overrides[key as keyof typeof overrides]) !== JSON.stringify(engineCfg[key]),
  );
  if (differing.length > 0) {
    const what = differing.map((key) => `${key}=${JSON.stringify(overrides[key as keyof typeof overrides])} (worker: ${JSON.stringify(engineCfg[key])})`).join(', ');
    throw new UnrecoverableError(`volume ${data.volumeId} asks for settings this worker does not run: ${what}; start workers with the same settings`);
  }
  return resolveConfig({ ...engineCfg, ...overrides, input: data.input, output: data.output });
}

/**
 * Deletes what earlier tries of the volume left in staging (a process killed between finishing its
 * staging write and publishing leaves its file there). Runs while this worker holds the job's lock.
 */
export async function sweepStaging(cfg: PipelineConfig, s3: S3Context | undefined, volumeId: string): Promise<number> {
  const staging = openLocation(cfg.staging ?? `${cfg.output.replace(/\/?$/, '/')}_staging/`, s3).child(volumeId);
  let removed = 0;
  for await (const page of staging.list({ pageSize: cfg.listPageSize })) {
    for (const { key } of page) {
      await staging.delete(key);
      removed++;
    }
  }
  return removed;
}

/**
 * Runs one volume job: a VolumeWorker on the process's shared engine and S3Context, progress
 * reported with `job.updateProgress` at most every `progressIntervalMs`, the VolumeResult returned
 * (BullMQ stores it as the job's return value). The volume is skipped when it is already published
 * from the same inputs, model and config; `signal` (BullMQ's cancellation) stops it without a marker.
 */
export async function runVolumeJob(job: Job<VolumeJobData>, ctx: VolumeJobContext, signal?: AbortSignal): Promise<VolumeResult> {
  const { volumeId, pages } = job.data;
  const cfg = volumeConfig(ctx.engine.cfg, job.data);
  await sweepStaging(cfg, ctx.s3, volumeId);
  const volume = new VolumeWorker(cfg, ctx.s3, volumeId, undefined, { engine: ctx.engine });
  const report = () => {
    const progress: VolumeJobProgress = { done: volume.done, total: pages, errors: volume.errors, worker: ctx.workerName };
    return job.updateProgress(progress as unknown as object).catch(() => undefined);
  };
  await report();
  const reporting = volume.pages$.pipe(auditTime(ctx.progressIntervalMs)).subscribe(() => void report());
  try {
    const result = await untilAborted(volume, signal);
    await report();
    return result;
  } finally {
    reporting.unsubscribe();
  }
}

/** `volume.run()`, stopped (no marker, staging removed) when `signal` fires. */
function untilAborted(volume: VolumeWorker, signal?: AbortSignal): Promise<VolumeResult> {
  return new Promise<VolumeResult>((resolve, reject) => {
    let result: VolumeResult | undefined;
    const sub = volume.run$().subscribe({
      next: (r) => (result = r),
      error: reject,
      complete: () => (result ? resolve(result) : reject(new Error(`volume ${volume.volumeId} ended without a result`))),
    });
    signal?.addEventListener('abort', () => {
      sub.unsubscribe();
      reject(signal.reason ?? new Error(`volume ${volume.volumeId} was cancelled`));
    }, { once: true });
  });
}
