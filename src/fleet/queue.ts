import { createHash } from 'node:crypto';
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
  /** The Prefetcher's manifest of the input when it was enqueued; a worker that lists something else fails the job. */
  manifestSha256: string;
  /** sha256 of the model file the volume is to be run with (before any wrapping); a worker running another model fails the job. */
  modelSha256?: string;
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
  /** How long to wait for Redis to answer before failing (default 5000 ms; BullMQ alone would wait forever). */
  connectTimeoutMs?: number;
}

export function connectionOf(opts: FleetConnection): ConnectionOptions {
  return { url: opts.redisUrl, connectTimeout: opts.connectTimeoutMs ?? 5000 } as ConnectionOptions;
}

/** The Redis URL without its password, for messages. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Resolves once Redis answers (BullMQ has connected and read its version); rejects within `connectTimeoutMs` (or when `signal` aborts)
 * with a message naming the URL. Run first, so that an unreachable Redis is a clear failure
 * instead of BullMQ's endless reconnecting.
 */
export async function checkRedis(opts: FleetConnection, signal?: AbortSignal): Promise<void> {
  const timeoutMs = opts.connectTimeoutMs ?? 5000;
  const probe = new Queue(opts.queueName ?? VOLUME_QUEUE, {
    connection: { url: opts.redisUrl, connectTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false } as ConnectionOptions,
  });
  let lastError: Error | undefined;
  probe.on('error', (err: Error) => (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      probe.waitUntilReady(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        onAbort = () => reject(new Error('stopped'));
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (err) {
    throw new Error(`cannot reach Redis at ${redactedUrl(opts.redisUrl)}: ${(lastError ?? (err as Error)).message}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    // BullMQ's disconnect waits for a connection still being set up; a Redis that never answered must not hold us.
    void probe.disconnect().catch(() => undefined);
  }
}

/** Opens the queue (close it when done). */
export function openVolumeQueue(opts: FleetConnection): Queue<VolumeJobData> {
  return new Queue<VolumeJobData>(opts.queueName ?? VOLUME_QUEUE, { connection: connectionOf(opts) });
}

/** What else than its images makes a volume's job: where it is published, the model, the content settings. */
export interface JobTarget {
  output: string;
  modelSha256: string;
  /** `contentConfigSha256` of the settings. */
  configSha256: string;
}

/**
 * The job id of a volume: `<volumeId>-<16 hex of the manifest>-<12 hex of the target>`. The same
 * volume with the same images, output, model and content settings gets the same id, so BullMQ
 * keeps a single job however often it is enqueued; any of them changed is a new job. (':' is
 * BullMQ's key separator.)
 */
export function volumeJobId(volumeId: string, manifestSha256: string, target: JobTarget): string {
  const targetSha = createHash('sha256').update(JSON.stringify([target.output, target.modelSha256, target.configSha256])).digest('hex');
  return `${volumeId.replace(/:/g, '_')}-${manifestSha256.slice(0, 16)}-${targetSha.slice(0, 12)}`;
}
