import type { Job } from 'bullmq';
import type { VolumeResult } from '../worker';
import { checkRedis, openVolumeQueue, type FleetConnection, type VolumeJobData, type VolumeJobProgress } from './queue';

export interface VolumeStatus {
  /** The job id (`<volumeId>-<manifest>-<target>`). */
  id: string;
  volumeId: string;
  /** BullMQ's state, or `stalled`: active, but its worker's lock has run out (the worker died; another worker's stalled check will put it back). */
  state: string;
  progress?: VolumeJobProgress;
  /** Tries started so far. */
  attempts: number;
  /** The VolumeResult, once completed. */
  result?: VolumeResult;
  /** Why the last try failed (kept while a retry waits). */
  failedReason?: string;
}

export interface FleetStatus {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  /** Waiting to be retried after a failed try. */
  delayed: number;
  /** Active jobs whose worker's lock ran out (counted in `active` too). */
  stalled: number;
  volumes: VolumeStatus[];
  /** Things about the queue to fix, e.g. a Redis without persistence. */
  warnings: string[];
}

/** The queue's counts and every volume job's state, progress and result (or failure). Fails within `connectTimeoutMs` when Redis cannot be reached. */
export async function fleetStatus(opts: FleetConnection, signal?: AbortSignal): Promise<FleetStatus> {
  await checkRedis(opts, signal);
  const queue = openVolumeQueue(opts);
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
    const jobs = (await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).filter((j): j is Job<VolumeJobData> => j !== undefined);
    const client = (await queue.client) as unknown as RawRedis;
    const stateOf = async (job: Job<VolumeJobData>): Promise<string> => {
      const state = await job.getState();
      if (state !== 'active') return state;
      return (await client.exists(queue.toKey(`${job.id}:lock`))) ? state : 'stalled';
    };
    const volumes = await Promise.all(jobs.map(async (job) => volumeStatusOf(job, await stateOf(job))));
    volumes.sort((a, b) => a.id.localeCompare(b.id));
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      delayed: counts.delayed ?? 0,
      stalled: volumes.filter((v) => v.state === 'stalled').length,
      volumes,
      warnings: await persistenceWarnings(client),
    };
  } finally {
    await queue.close();
  }
}

/** The ioredis calls used here (BullMQ's client type does not list them). */
interface RawRedis {
  exists(key: string): Promise<number>;
  config(op: 'GET', name: string): Promise<unknown>;
}

/** A warning when Redis keeps nothing across a restart (no RDB snapshots, no AOF): waiting volumes would vanish. */
async function persistenceWarnings(client: RawRedis): Promise<string[]> {
  try {
    const [, save] = (await client.config('GET', 'save')) as [string, string];
    const [, aof] = (await client.config('GET', 'appendonly')) as [string, string];
    if ((save ?? '').trim() === '' && aof === 'no') return ['Redis has no persistence (save "" and appendonly no): a Redis restart loses the queue; enable AOF or RDB snapshots'];
  } catch {
    // CONFIG may be disabled (managed Redis): nothing to say.
  }
  return [];
}

function volumeStatusOf(job: Job<VolumeJobData>, state: string): VolumeStatus {
  const progress = typeof job.progress === 'object' ? (job.progress as unknown as VolumeJobProgress) : undefined;
  return {
    id: job.id as string,
    volumeId: job.data.volumeId,
    state,
    progress,
    attempts: job.attemptsStarted,
    result: state === 'completed' ? (job.returnvalue as VolumeResult) : undefined,
    failedReason: job.failedReason || undefined,
  };
}
