import { Queue, type ConnectionOptions } from 'bullmq';
import type { PipelineConfig } from '../config';

/** The BullMQ queue volumes wait in (one job per volume). */
export const VOLUME_QUEUE = 'rxvolume-volumes';

/** Settings a job may carry: everything but where the volume is. */
export type ConfigOverrides = Partial<Omit<PipelineConfig, 'input' | 'output'>>;

/** A volume job: the volume's own input prefix, the shared output root, and the manifest it was enqueued with. */
export interface VolumeJobData {
  volumeId: string;
  /** `s3://bucket/prefix/<volumeId>/` or a local directory. */
  input: string;
  /** The output root; the table lands at `<output>/<volumeId>/`. */
  output: string;
  configOverrides?: ConfigOverrides;
  /** The Prefetcher's manifest of the input when it was enqueued. */
  manifestSha256: string;
  /** Images listed when it was enqueued (the progress total). */
  pages: number;
}

/** What a worker reports with `job.updateProgress`. */
export interface VolumeJobProgress {
  /** Rows written so far. */
  done: number;
  total: number;
  errors: number;
  /** `<hostname>:<pid>` of the process running it. */
  worker: string;
}

/** Where the queue is: a Redis URL (`redis://host:port/db`) and, optionally, a queue name of one's own. */
export interface FleetConnection {
  redisUrl: string;
  /** Default `VOLUME_QUEUE`. */
  queueName?: string;
}

export function connectionOf(opts: FleetConnection): ConnectionOptions {
  return { url: opts.redisUrl };
}

/** Opens the queue (close it when done). */
export function openVolumeQueue(opts: FleetConnection): Queue<VolumeJobData> {
  return new Queue<VolumeJobData>(opts.queueName ?? VOLUME_QUEUE, { connection: connectionOf(opts) });
}

/**
 * The job id of a volume at a given input: the same volume with the same images gets the same id,
 * so BullMQ keeps a single job however often it is enqueued. (':' is BullMQ's key separator.)
 */
export function volumeJobId(volumeId: string, manifestSha256: string): string {
  return `${volumeId.replace(/:/g, '_')}-${manifestSha256.slice(0, 16)}`;
}
