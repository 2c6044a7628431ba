import type { Job } from 'bullmq';
import type { VolumeResult } from '../worker';
import { checkRedis, openVolumeQueue, type FleetConnection, type VolumeJobData, type VolumeJobProgress } from './queue';

export interface VolumeStatus {
  /** The job id (`<volumeId>-<manifest prefix>`). */
  id: string;
  volumeId: string;
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
  volumes: VolumeStatus[];
}

/** The queue's counts and every volume job's state, progress and result (or failure). Fails within `connectTimeoutMs` when Redis cannot be reached. */
export async function fleetStatus(opts: FleetConnection, signal?: AbortSignal): Promise<FleetStatus> {
  await checkRedis(opts, signal);
  const queue = openVolumeQueue(opts);
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
    const jobs = (await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).filter((j): j is Job<VolumeJobData> => j !== undefined);
    const volumes = await Promise.all(jobs.map(async (job) => volumeStatusOf(job, await job.getState())));
    volumes.sort((a, b) => a.id.localeCompare(b.id));
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      delayed: counts.delayed ?? 0,
      volumes,
    };
  } finally {
    await queue.close();
  }
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
