import Piscina from 'piscina';
import { Observable, defer, map } from 'rxjs';
import { Credits, StageStats, bypass, releaseCredit, weightedMerge } from '../../operators';
import type { EngineConfig } from '../config';
import type { ModelAdapter } from '../model/adapter';
import { byteAdapter } from '../model/byteModel';
import { CLS_CROP_FLOATS, CLS_HEIGHT, CLS_WIDTH } from '../model/lineCrops';
import type { BatchFill } from '../infer/batchFill';
import { BatchedModel, type UnitJob } from '../infer/batchedModel';
import type { Device } from '../infer/session';
import { failed, isFailed, type DecodedPage, type FailedPage, type InferredPage } from '../page';
import { closePool, startPool } from '../workerFile';

/** A model an inference thread runs (src/threads/infer.ts): its file, names, input type and one unit's dims. */
export interface ThreadModel {
  name: string;
  modelPath: string;
  sha256: string;
  inputName: string;
  outputName: string;
  input: 'uint8' | 'float32';
  /** One unit's input dims (a patch: [3, size, size]). */
  unit: number[];
  /** The batch size it is warmed up at (on CUDA, the one shape it runs). */
  batchSize: number;
}

/** What each inference thread is started with. */
export interface InferWorkerData {
  models: { detector: ThreadModel; classifier?: ThreadModel };
  device: 'cpu' | 'cuda' | 'auto';
  threads: number;
}

/**
 * Line crops in one classifier batch. The classifier is small (a crop costs a fraction of a patch),
 * so its batches are larger than the detector's: 32 crops are the first rounds of about three pages.
 */
export const CLASSIFIER_BATCH = 32;

/** The inference threads' start data for a byte model (`byteAdapter`): its detector at `cfg.batchSize`, and its direction classifier, if any, at CLASSIFIER_BATCH. */
export function inferWorkerData(cfg: EngineConfig, adapter: ModelAdapter): InferWorkerData {
  const size = adapter.layout.patchSize;
  const detector: ThreadModel = { ...adapter, input: 'uint8', unit: [3, size, size], batchSize: cfg.batchSize };
  const classifier: ThreadModel | undefined = adapter.classifier && { ...adapter.classifier, input: 'float32', unit: [3, CLS_HEIGHT, CLS_WIDTH], batchSize: CLASSIFIER_BATCH };
  return { models: { detector, ...(classifier ? { classifier } : {}) }, device: cfg.device, threads: cfg.inferThreads };
}

/** An inference thread's answer to `prepare`. */
export interface PrepareResult {
  threadId: number;
  device: Device;
  fallback?: string;
}

/** Counters of the batcher's parts; all optional. */
export interface BatcherStats {
  /** The weighted merge of the two lanes (slots in use, per-lane counts). */
  merge?: StageStats;
  /** Patches waiting for a batch to fill. */
  batch?: StageStats;
  /** Batches running on the inference threads. */
  infer?: StageStats;
  fill?: BatchFill;
}

/**
 * Runs the model over pages (and owns the inference threads, which also run the direction
 * classifier for the DirectionClassifier stage): decoded pages from two lanes (reprocess first, by weight) are
 * admitted into `cfg.batcherSlots` slots, their patches packed into micro-batches that mix pages,
 * each batch run as one `session.run` of the byte-wrapped model (`byteAdapter`) on a pool of
 * inference threads that run models and nothing else (a batch leaves when one of the
 * `inferWorkers × batchesInFlight` places is free, so it fills up while they are busy instead of
 * queueing half-empty). A page comes out once all its patch maps are back. Failed pages pass.
 *
 * Device: `cfg.device` `cpu` (default); `cuda` fails `create()` if the CUDA provider cannot load;
 * `auto` falls back to the CPU with one warning. See `openSession` for installing the provider.
 */
export class GpuBatcher {
  private readonly detector: BatchedModel;
  /** The direction classifier on the same threads (when the adapter has one), for the DirectionClassifier stage. */
  readonly classifier?: BatchedModel;

  private constructor(
    private readonly cfg: EngineConfig,
    /** The inference threads. */
    private readonly pool: Piscina,
    readonly device: Device,
    /** The byte model the inference threads run (its sha256 is the table's model identity). */
    readonly adapter: ModelAdapter,
  ) {
    const size = adapter.layout.patchSize;
    this.detector = new BatchedModel(pool, {
      model: 'detector', unitIn: 3 * size * size, unitOut: size * size, batchSize: cfg.batchSize, maxWaitMs: cfg.batchMaxWaitMs, places: this.places,
    });
    if (adapter.classifier) {
      this.classifier = new BatchedModel(pool, {
        model: 'classifier', unitIn: CLS_CROP_FLOATS * 4, unitOut: 2 * 4, batchSize: CLASSIFIER_BATCH, maxWaitMs: cfg.batchMaxWaitMs, places: this.places,
      });
    }
  }

  /** Batches on the inference threads at a time: `batchesInFlight` per thread, so patches collect into fuller batches while they are busy. */
  get places(): number {
    return this.cfg.inferWorkers * this.cfg.batchesInFlight;
  }

  /**
   * Wraps the adapter's model to take and give bytes, starts the inference threads (its sessions
   * opened and warmed up on each) and settles the device.
   */
  static async create(cfg: EngineConfig, source: ModelAdapter): Promise<GpuBatcher> {
    const adapter = byteAdapter(source);
    const workerData = inferWorkerData(cfg, adapter);
    const pool = startPool('infer', {
      minThreads: cfg.inferWorkers, maxThreads: cfg.inferWorkers, concurrentTasksPerWorker: cfg.batchesInFlight, idleTimeout: Infinity, workerData,
    });
    // Every thread's warm-up settles before a failure closes the pool: a thread is never ended inside a session.
    const settled = await Promise.allSettled(Array.from({ length: cfg.inferWorkers }, () => pool.run(null, { name: 'prepare' }) as Promise<PrepareResult>));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await closePool(pool);
      throw failure.reason;
    }
    const prepared = settled.map((s) => (s as PromiseFulfilledResult<PrepareResult>).value);
    const fallback = prepared.find((p) => p.fallback)?.fallback;
    if (fallback) console.warn(`rxvolume: device auto: ${fallback}; running on the CPU`);
    return new GpuBatcher(cfg, pool, prepared[0].device, adapter);
  }

  /** Every page of both lanes, once, with its patch maps (or failed), in completion order. */
  run(initial$: Observable<DecodedPage | FailedPage>, reprocess$: Observable<DecodedPage | FailedPage>, stats: BatcherStats = {}): Observable<InferredPage | FailedPage> {
    const { cfg } = this;
    return defer(() => {
      const slots = new Credits(cfg.batcherSlots, 'batcher');
      const lanes = [
        { source: reprocess$, weight: cfg.reprocessWeight, name: 'reprocess' },
        { source: initial$, weight: cfg.initialWeight, name: 'initial' },
      ];
      return weightedMerge<DecodedPage | FailedPage>(lanes, { credits: slots, stats: stats.merge }).pipe(
        bypass(isFailed, (pages: Observable<DecodedPage>) =>
          pages.pipe(
            map((page): UnitJob<DecodedPage> => ({ item: page, count: page.frame.patches.count, input: page.frame.patches.data, output: new Uint8Array(page.frame.patches.count * this.mapLength), ms: 0 })),
            this.detector.run(stats),
            map((job) => (job.error ? failed(job.item, job.error) : inferred(job))),
          ),
        ),
        releaseCredit(slots),
      );
    });
  }

  async close(): Promise<void> {
    await closePool(this.pool);
  }

  private get mapLength(): number {
    return this.adapter.layout.patchSize ** 2;
  }
}

/** A page whose patch maps are all back: the maps and its share of the batches' time. */
function inferred({ item: page, output, ms }: UnitJob<DecodedPage>): InferredPage {
  return { ...page, state: 'inferred', maps: output, timings: { ...page.timings, inferMs: page.timings.inferMs + ms } };
}
