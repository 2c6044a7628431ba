import { resolve } from 'node:path';
import { resolveConfig } from '../config';
import { contentConfigSha256 } from '../engine';
import { adapterOf, type ModelAdapter } from '../model/adapter';
import type { S3Context, S3ContextOptions } from '../s3/context';
import { Prefetcher } from '../stages/prefetcher';
import { openLocation, parseS3Url } from '../store';
import { listVolumeIds } from './listVolumes';
import { checkRedis, openVolumeQueue, volumeJobId, type ConfigOverrides, type FleetConnection, type VolumeJobData } from './queue';
import { s3From } from './s3';

export interface EnqueueOptions extends FleetConnection {
  /** `s3://bucket/prefix/` or a directory; each immediate sub-prefix / sub-directory is a volume. */
  input: string;
  /** The output root every volume is published under. */
  output: string;
  /** Needed for s3:// locations: a context, or options to build one. */
  s3?: S3Context | S3ContextOptions;
  /** Settings the workers apply to these volumes (image extensions also decide what is listed here). */
  configOverrides?: ConfigOverrides;
  /** The model the volumes are to be run with, as `PipelineConfig.model` (default: the default model) or an adapter; workers running another fail the job. */
  model?: string | ModelAdapter;
  /** Tries per volume before it is marked failed (default 3), with exponential backoff from `backoffMs` (default 5000). */
  attempts?: number;
  backoffMs?: number;
  signal?: AbortSignal;
}

export interface EnqueueResult {
  /** Job ids added now. */
  added: string[];
  /** Job ids already in the queue (waiting, active, completed or failed): nothing was added for them. */
  existing: string[];
}

/**
 * Lists the volumes under `input`, computes each one's manifest (`Prefetcher.manifest()`) and adds
 * one job per volume with the id `volumeJobId(volumeId, manifest, { output, model, settings })`.
 * Local `input` and `output` paths are made absolute first (workers run elsewhere). Enqueueing the
 * same volumes again adds nothing (BullMQ keeps one job per id, completed ones included); a volume
 * whose images, output, model or content settings changed gets a new job. Jobs are retried
 * `attempts` times with exponential backoff; completed and failed jobs are kept so `fleetStatus`
 * can report them. Fails within `connectTimeoutMs` when Redis cannot be reached.
 */
export async function enqueueVolumes(opts: EnqueueOptions): Promise<EnqueueResult> {
  await checkRedis(opts, opts.signal);
  const inputUrl = absolute(opts.input);
  const output = absolute(opts.output);
  const listing = resolveConfig({ ...opts.configOverrides, input: inputUrl, output });
  const adapter = await adapterOf(opts.model ?? listing.model, listing);
  const target = { output, modelSha256: adapter.sha256, configSha256: contentConfigSha256(listing) };
  const { s3, release } = s3From(opts.s3);
  const queue = openVolumeQueue(opts);
  const result: EnqueueResult = { added: [], existing: [] };
  try {
    const root = openLocation(inputUrl, s3);
    for await (const volumeId of listVolumeIds(root, { pageSize: listing.listPageSize, signal: opts.signal })) {
      const input = root.child(volumeId);
      const cfg = resolveConfig({ ...opts.configOverrides, input: input.url, output });
      const manifest = await new Prefetcher(input, cfg, volumeId).manifest(opts.signal);
      const jobId = volumeJobId(volumeId, manifest.sha256, target);
      if (await queue.getJob(jobId)) {
        result.existing.push(jobId);
        continue;
      }
      const data: VolumeJobData = {
        volumeId, input: input.url, output, configOverrides: opts.configOverrides, manifestSha256: manifest.sha256, modelSha256: adapter.sha256, pages: manifest.inputs,
      };
      await queue.add(volumeId, data, {
        jobId,
        attempts: opts.attempts ?? 3,
        backoff: { type: 'exponential', delay: opts.backoffMs ?? 5000 },
        removeOnComplete: false,
        removeOnFail: false,
      });
      result.added.push(jobId);
    }
    return result;
  } finally {
    await queue.close();
    release();
  }
}

/** A local path made absolute (an `s3://` URL as it is). */
function absolute(location: string): string {
  return parseS3Url(location) ? location : resolve(location);
}
