import { UnrecoverableError, type Job } from 'bullmq';
import { auditTime } from 'rxjs';
import { VOLUME_SETTINGS, contentDifferences, pickSettings, resolveConfig, type EngineConfig, type PipelineConfig, type VolumeSettings } from '../config';
import type { VolumeEngine } from '../engine';
import type { S3Context } from '../s3/context';
import { Prefetcher } from '../stages/prefetcher';
import { InputMissingError, openLocation, openStaging } from '../store';
import { VolumeWorker, type VolumeResult } from '../worker';
import type { ConfigOverrides, VolumeJobData, VolumeJobProgress } from './queue';

/** Settings a job sets for its own volume: the volume's settings but where it is. */
const PER_VOLUME_KEYS = VOLUME_SETTINGS.filter((key) => key !== 'input' && key !== 'output');

/** What a job runs with: the process's engine, S3 side and naming. */
export interface VolumeJobContext {
  engine: VolumeEngine;
  /** The process's volume settings (budgets, staging), for jobs that do not set their own. */
  volumeDefaults: Partial<VolumeSettings>;
  s3?: S3Context;
  /** `<hostname>:<pid>`, reported in the progress. */
  consumerName: string;
  /** sha256 of the model file the engine was started with (before wrapping): a job for another model is refused. */
  modelSha256: string;
  progressIntervalMs: number;
}

/**
 * The job's volume config: the engine's settings, the process's volume settings under the job's
 * own (`VolumeSettings`), its input and output. A job's engine settings (the model, pools, device,
 * batching) are not used: they are the process's. A job that names a content setting
 * (`CONTENT_SETTINGS`, those the marker's config hash covers) must name the engine's value, or the
 * table would not be what its marker's config hash says: that fails it for good, with the reason.
 */
export function volumeConfig(engineCfg: EngineConfig, data: VolumeJobData, volumeDefaults: Partial<VolumeSettings> = {}): PipelineConfig {
  const overrides: ConfigOverrides = data.configOverrides ?? {};
  const differing = contentDifferences(overrides, engineCfg);
  if (differing.length > 0) {
    const what = differing.map((key) => `${key}=${JSON.stringify(overrides[key])} (worker: ${JSON.stringify(engineCfg[key])})`).join(', ');
    throw new UnrecoverableError(`volume ${data.volumeId} asks for settings this worker does not run: ${what}; start workers with the same settings`);
  }
  return resolveConfig({ ...engineCfg, ...volumeDefaults, ...pickSettings(overrides, PER_VOLUME_KEYS), input: data.input, output: data.output });
}

/**
 * Deletes what earlier tries of the volume left in staging (a process killed between finishing its
 * staging write and publishing leaves its file there). Runs while this worker holds the job's lock.
 */
export async function sweepStaging(cfg: PipelineConfig, s3: S3Context | undefined, volumeId: string): Promise<number> {
  const staging = openStaging(cfg, openLocation(cfg.output, s3), s3).child(volumeId);
  let removed = 0;
  try {
    for await (const page of staging.list({ pageSize: cfg.listPageSize })) {
      for (const { key } of page) {
        await staging.delete(key);
        removed++;
      }
    }
  } catch (err) {
    if (!(err instanceof InputMissingError)) throw err; // no staging folder: nothing left
  }
  return removed;
}

/**
 * Fails the job for good when the volume's images are not the ones it was enqueued with (moved,
 * emptied, changed): its table would not be what was asked for. Enqueue again to run what is there.
 */
async function checkManifest(cfg: PipelineConfig, s3: S3Context | undefined, data: VolumeJobData): Promise<void> {
  const now = await new Prefetcher(openLocation(cfg.input, s3), cfg, data.volumeId).manifest();
  if (now.sha256 !== data.manifestSha256) {
    throw new UnrecoverableError(`volume ${data.volumeId} changed since it was enqueued (${data.pages} images then, ${now.inputs} in ${cfg.input} now); enqueue it again`);
  }
}

/**
 * Runs one volume job: a VolumeWorker on the process's shared engine and S3Context, progress
 * reported with `job.updateProgress` at most every `progressIntervalMs`, the VolumeResult returned
 * (BullMQ stores it as the job's return value). The volume is skipped when it is already published
 * from the same inputs, model and config; `signal` (BullMQ's cancellation) stops it without a marker.
 */
export async function runVolumeJob(job: Job<VolumeJobData>, ctx: VolumeJobContext, signal?: AbortSignal): Promise<VolumeResult> {
  const { volumeId, pages } = job.data;
  const cfg = volumeConfig(ctx.engine.cfg, job.data, ctx.volumeDefaults);
  if (job.data.modelSha256 !== undefined && job.data.modelSha256 !== ctx.modelSha256) {
    throw new UnrecoverableError(`volume ${volumeId} was enqueued for the model with sha256 ${job.data.modelSha256.slice(0, 12)}…, this worker runs ${ctx.modelSha256.slice(0, 12)}…; start workers with that model`);
  }
  await checkManifest(cfg, ctx.s3, job.data);
  await sweepStaging(cfg, ctx.s3, volumeId);
  const volume = new VolumeWorker(cfg, ctx.s3, volumeId, undefined, { engine: ctx.engine });
  const report = () => {
    const progress: VolumeJobProgress = { done: volume.done, total: pages, errors: volume.errors, worker: ctx.consumerName };
    return job.updateProgress(progress as unknown as object).catch(() => undefined);
  };
  await report();
  const reporting = volume.pages$.pipe(auditTime(ctx.progressIntervalMs)).subscribe(() => void report());
  try {
    const result = await volume.run({ signal });
    await report();
    return result;
  } finally {
    reporting.unsubscribe();
  }
}
