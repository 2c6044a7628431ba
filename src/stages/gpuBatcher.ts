import Piscina from 'piscina';
import { Observable, catchError, connect, defer, filter, from, map, merge, mergeMap, of, range, tap } from 'rxjs';
import { Credits, StageStats, microBatch, piscinaRunner, poolMap, releaseCredit, weightedMerge } from '../../operators';
import type { EngineConfig } from '../config';
import type { ModelAdapter } from '../model/adapter';
import { byteAdapter } from '../model/byteModel';
import { BatchFill } from '../infer/batchFill';
import { buffersOf } from '../infer/transfer';
import { failed, type PageWork } from '../types';
import { closePool, startPool } from '../workerFile';
import type { AnalyseWorkerData, SummarizeResult, SummarizeTask } from '../workers/analyse';
import type { BatchResult, BatchTask, InferWorkerData, PrepareResult } from '../workers/infer';

/** Counters of the batcher's parts; all optional. */
export interface BatcherStats {
  /** The weighted merge of the two lanes (slots in use, per-lane counts). */
  merge?: StageStats;
  /** Patches waiting for a batch to fill. */
  batch?: StageStats;
  /** Batches running on the inference threads. */
  infer?: StageStats;
  /** Frames being stitched and summarized (on the analysis threads). */
  summarize?: StageStats;
  fill?: BatchFill;
}

/** A frame inside the batcher: its patch maps fill in as batches come back. */
interface FrameJob {
  work: PageWork & { frame: NonNullable<PageWork['frame']> };
  /** Byte maps (255·p), patch after patch. */
  maps: Uint8Array;
  pending: number;
  /** The frame's share of its batches' run time. */
  inferMs: number;
  /** Set when a batch holding one of its patches failed. */
  error?: string;
}

interface PatchRef {
  job: FrameJob;
  index: number;
}

/** A reusable pair of batch buffers (input byte patches and output byte maps). */
interface BatchBuffers {
  input: Uint8Array;
  output: Uint8Array;
}

/**
 * Runs the model over pages: frames from two lanes (reprocess first, by weight) are admitted into
 * `cfg.batcherSlots` slots, their patches packed into micro-batches that mix frames, each batch run
 * as one `session.run` of the byte-wrapped model (`byteAdapter`) on a pool of inference threads that
 * run nothing else (a batch leaves when one of the `inferWorkers × batchesInFlight` places is free,
 * so it fills up while they are busy instead of queueing half-empty), and each frame, once all its
 * patches are back, stitched and summarized on a pool of analysis threads. Error items pass straight
 * through.
 *
 * Device: `cfg.device` `cpu` (default); `cuda` fails `create()` if the CUDA provider cannot load;
 * `auto` falls back to the CPU with one warning. See `openSession` for installing the provider.
 */
export class GpuBatcher {
  private readonly free: BatchBuffers[] = [];
  private readonly patchLength: number;
  private readonly mapLength: number;

  private constructor(
    private readonly cfg: EngineConfig,
    private readonly pool: Piscina,
    private readonly analysis: Piscina,
    readonly device: 'cpu' | 'cuda',
    /** The byte model the inference threads run (its sha256 is the table's model identity). */
    readonly adapter: ModelAdapter,
  ) {
    const size = adapter.layout.patchSize;
    this.patchLength = 3 * size * size;
    this.mapLength = size * size;
  }

  /**
   * Wraps the adapter's model to take and give bytes, starts the inference threads (a session
   * opened and warmed up on each) and the analysis threads (the summarizer prepared on each), and
   * settles the device.
   */
  static async create(cfg: EngineConfig, source: ModelAdapter): Promise<GpuBatcher> {
    const adapter = byteAdapter(source);
    const workerData: InferWorkerData = { adapter, device: cfg.device, threads: cfg.inferThreads, batchSize: cfg.batchSize };
    const pool = startPool('infer', {
      minThreads: cfg.inferWorkers, maxThreads: cfg.inferWorkers, concurrentTasksPerWorker: cfg.batchesInFlight, idleTimeout: Infinity, workerData,
    });
    const analysisData: AnalyseWorkerData = { adapter };
    const analysis = startPool('analyse', { minThreads: cfg.analysisWorkers, maxThreads: cfg.analysisWorkers, idleTimeout: Infinity, workerData: analysisData });
    // Every thread's warm-up settles before a failure closes the pools: a thread is never ended inside a session.
    const warmUps = (p: Piscina, threads: number) => Array.from({ length: threads }, () => p.run(null, { name: 'prepare' }));
    const [inferSettled, analysisSettled] = await Promise.all([
      Promise.allSettled(warmUps(pool, cfg.inferWorkers) as Array<Promise<PrepareResult>>),
      Promise.allSettled(warmUps(analysis, cfg.analysisWorkers)),
    ]);
    const failure = [...inferSettled, ...analysisSettled].find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all([closePool(pool), closePool(analysis)]);
      throw failure.reason;
    }
    const prepared = inferSettled.map((s) => (s as PromiseFulfilledResult<PrepareResult>).value);
    const fallback = prepared.find((p) => p.fallback)?.fallback;
    if (fallback) console.warn(`rxvolume: device auto: ${fallback}; running on the CPU`);
    return new GpuBatcher(cfg, pool, analysis, prepared[0].device, adapter);
  }

  /** Every page of both lanes, once, with `summary` set (or its error), in completion order. */
  run(initial$: Observable<PageWork>, reprocess$: Observable<PageWork>, stats: BatcherStats = {}): Observable<PageWork> {
    const { cfg } = this;
    return defer(() => {
      const slots = new Credits(cfg.batcherSlots, 'batcher');
      // batchesInFlight batches per inference thread at a time: while they are busy, patches collect into fuller batches.
      const places = cfg.inferWorkers * cfg.batchesInFlight;
      const inferPlaces = new Credits(places, 'inferPlaces');
      const lanes = [
        { source: reprocess$, weight: cfg.reprocessWeight, name: 'reprocess' },
        { source: initial$, weight: cfg.initialWeight, name: 'initial' },
      ];
      return weightedMerge(lanes, { credits: slots, stats: stats.merge }).pipe(
        map((work) => (work.error || work.frame ? work : failed(work, 'no decoded frame reached the model'))),
        connect((admitted) =>
          merge(
            admitted.pipe(filter((work) => !!work.error)),
            admitted.pipe(
              filter((work): work is FrameJob['work'] => !work.error),
              mergeMap((work) => this.patchesOf(work)),
              microBatch<PatchRef>({ maxSize: cfg.batchSize, maxWaitMs: cfg.batchMaxWaitMs, credits: inferPlaces, stats: stats.batch }),
              poolMap((batch: PatchRef[]) => this.runBatch(batch, stats.fill), { concurrency: places, stats: stats.infer }),
              releaseCredit(inferPlaces),
              mergeMap((done) => from(done)),
              connect((jobs) =>
                merge(
                  jobs.pipe(filter((job) => !!job.error), map((job) => failed(job.work, job.error as string))),
                  jobs.pipe(
                    filter((job) => !job.error),
                    poolMap((job: FrameJob) => this.summarize(job), { concurrency: cfg.analysisWorkers, stats: stats.summarize }),
                  ),
                ),
              ),
            ),
          ),
        ),
        releaseCredit(slots),
      );
    });
  }

  async close(): Promise<void> {
    await Promise.all([closePool(this.pool), closePool(this.analysis)]);
  }

  private patchesOf(work: FrameJob['work']): Observable<PatchRef> {
    const { count } = work.frame.patches;
    const job: FrameJob = { work, maps: new Uint8Array(count * this.mapLength), pending: count, inferMs: 0 };
    return range(0, count).pipe(map((index) => ({ job, index })));
  }

  /** Packs a batch into reusable buffers, runs it, scatters the maps back; emits the frames it completed. */
  private runBatch(batch: PatchRef[], fill?: BatchFill): Observable<FrameJob[]> {
    const { patchLength, mapLength } = this;
    const buffers = this.free.pop() ?? {
      input: new Uint8Array(this.cfg.batchSize * patchLength),
      output: new Uint8Array(this.cfg.batchSize * mapLength),
    };
    batch.forEach(({ job, index }, k) => {
      buffers.input.set(job.work.frame.patches.data.subarray(index * patchLength, (index + 1) * patchLength), k * patchLength);
    });
    const task: BatchTask = { ...buffers, count: batch.length };
    fill?.record(batch.length, new Set(batch.map((p) => p.job)).size);
    const run = piscinaRunner<BatchTask, BatchResult>(this.pool, { name: 'runBatch', transfer: (t) => buffersOf(t.input, t.output) });
    return from(run(task)).pipe(
      tap((result) => this.free.push({ input: result.input, output: result.output })),
      map((result) => {
        const completed: FrameJob[] = [];
        batch.forEach(({ job, index }, k) => {
          job.maps.set(result.output.subarray(k * mapLength, (k + 1) * mapLength), index * mapLength);
          job.inferMs += result.ms / batch.length;
          if (--job.pending === 0) completed.push(job);
        });
        return completed;
      }),
      // A failed run fails the frames it held (their buffers went with the task; new ones replace them).
      catchError((err: Error) => {
        const completed: FrameJob[] = [];
        for (const { job } of batch) {
          job.error ??= `inference failed: ${err.message}`;
          if (--job.pending === 0) completed.push(job);
        }
        return of(completed);
      }),
    );
  }

  /** Stitches and summarizes a completed frame on an analysis thread. */
  private summarize(job: FrameJob): Observable<PageWork> {
    const { work, maps } = job;
    const { frame } = work;
    const { size, stride, cols, rows, count } = frame.patches;
    const grid = { size, stride, cols, rows, count };
    const task: SummarizeTask = { maps, grid, width: frame.width, height: frame.height, pixels: frame.pixels };
    const run = piscinaRunner<SummarizeTask, SummarizeResult>(this.analysis, { name: 'summarize', transfer: (t) => buffersOf(t.maps, t.pixels) });
    return from(run(task)).pipe(
      map(({ summary, pixels, ms }) => ({
        ...work,
        // The patches have been read: only the pixels go on (to the transformer, which re-tiles).
        frame: { ...frame, pixels, patches: { ...grid, count: 0, data: new Uint8Array(0) } },
        summary,
        first: work.pass === 1 ? summary : work.first,
        timings: { ...work.timings, inferMs: work.timings.inferMs + job.inferMs + ms },
      })),
      catchError((err: Error) => of(failed(work, `summarizing the page failed: ${err.message}`))),
    );
  }
}
