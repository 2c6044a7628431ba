import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { resolveEngineConfig, splitSettings, type PipelineConfig } from '../config';
import { VolumeEngine } from '../engine';
import { adapterOf, type ModelAdapter } from '../model/adapter';
import type { S3Context, S3ContextOptions } from '../s3/context';
import type { VolumeResult } from '../worker';
import { checkRedis, connectionOf, VOLUME_QUEUE, type ConfigOverrides, type FleetConnection, type VolumeJobData } from './queue';
import { s3From } from './s3';
import { runVolumeJob } from './volumeJob';

/** A fleet consumer: a process's loop that takes volume jobs from the queue and runs them. */
export interface FleetConsumerOptions extends FleetConnection {
  /** Volumes this process runs at once (BullMQ concurrency), all on one engine. Default 1. */
  volumesPerProcess?: number;
  device?: PipelineConfig['device'];
  /**
   * The model, as `PipelineConfig.model` names one (`default`: PP-OCRv4, `tiny`: the generated test
   * model, or an ONNX file's path; see `modelAdapter`) or an adapter. Default: `configOverrides.model`, else `default`.
   */
  model?: string | ModelAdapter;
  /** The process's pipeline settings (pools, model, corrections); jobs must ask for the same ones. */
  configOverrides?: ConfigOverrides;
  /** Needed for s3:// volumes: a context, or options to build one. Shared by every job of the process. */
  s3?: S3Context | S3ContextOptions;
  /** Stops the consumer: the jobs in progress finish, no new ones are taken, then it resolves. Without one it runs until the process ends. */
  signal?: AbortSignal;
  /**
   * A job's lock lasts this long and is renewed every half of it; a process that dies holds it at
   * most this long (default 30 000 ms).
   */
  lockDurationMs?: number;
  /** How often this consumer looks for jobs whose lock ran out, and puts them back (default 30 000 ms). */
  stalledIntervalMs?: number;
  /** Times a job may lose its worker before it is failed (default 2). */
  maxStalledCount?: number;
  /** At most one progress update per job this often (default 1000 ms). */
  progressIntervalMs?: number;
  /** Called once the engine is up and the consumer is taking jobs. */
  onReady?: () => void;
  /** One line per event (job started, done, failed; BullMQ worker errors). Default: stderr. */
  log?: (line: string) => void;
}

/**
 * Takes volume jobs from the queue until `signal` fires. Fails at once (within `connectTimeoutMs`)
 * when Redis cannot be reached. One process has one VolumeEngine (one set
 * of thread pools and model sessions) and one S3Context, shared by its `volumesPerProcess` jobs.
 *
 * Stopping (`signal`, e.g. on SIGTERM): the BullMQ worker's `close()` lets the jobs in progress finish and
 * publish, takes no new ones, then the engine is closed and the promise resolves. A process killed
 * outright keeps its job's lock until `lockDurationMs` runs out; another consumer's stalled check
 * (every `stalledIntervalMs`) then puts the job back and it runs again from the start. The
 * publish is atomic and idempotent (see README.md, "Running a fleet"), so a volume is published once, never half.
 */
export async function runFleetConsumer(opts: FleetConsumerOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const reached = await checkRedis(opts, opts.signal).then(() => true, (err: unknown) => {
    if (opts.signal?.aborted) return false; // stopped before it started: nothing to finish
    throw err;
  });
  if (!reached) return;
  const { engine: engineSettings, volume: volumeDefaults } = splitSettings(opts.configOverrides ?? {});
  const cfg = resolveEngineConfig({ ...engineSettings, ...(opts.device ? { device: opts.device } : {}) });
  const adapter = await adapterOf(opts.model ?? cfg.model, cfg);
  const { s3, release } = s3From(opts.s3);
  const engine = await VolumeEngine.create(cfg, adapter).catch((err: unknown) => {
    release();
    throw err;
  });
  const consumerName = `${hostname()}:${process.pid}`;
  const ctx = { engine, volumeDefaults, s3, consumerName, modelSha256: adapter.sha256, progressIntervalMs: opts.progressIntervalMs ?? 1000 };
  const consumer = new Worker<VolumeJobData, VolumeResult>(opts.queueName ?? VOLUME_QUEUE, (job, _token, signal) => runVolumeJob(job, ctx, signal), {
    connection: connectionOf(opts),
    concurrency: opts.volumesPerProcess ?? 1,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: opts.stalledIntervalMs ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 2,
    name: consumerName,
  });
  consumer.on('active', (job) => log(`${consumerName} started ${job.id} (try ${job.attemptsStarted})`));
  consumer.on('completed', (job, r) => log(`${consumerName} ${r.status} ${job.id}: ${r.pages} rows, ${r.errors} errors, ${r.seconds.toFixed(1)} s`));
  consumer.on('failed', (job, err) => log(`${consumerName} failed ${job?.id}: ${err.message}`));
  consumer.on('error', (err) => log(`${consumerName} error: ${err.message}`));
  const stopped = new Promise<void>((resolve) => {
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    // A stop while Redis is still being reached is honoured too.
    await Promise.race([consumer.waitUntilReady().then(() => opts.onReady?.()), stopped]);
    await stopped;
  } finally {
    await consumer.close();
    await engine.close();
    release();
  }
}

