import { Observable, OperatorFunction, catchError, defer, from, map, mergeMap, of, range, tap } from 'rxjs';
import { Credits, StageStats, microBatch, piscinaRunner, poolMap, releaseCredit, type PiscinaPool } from '../../operators';
import type { BatchFill } from './batchFill';
import { buffersOf } from './transfer';

/** Which of the inference threads' models a batch runs (see src/threads/infer.ts). */
export type ModelName = 'detector' | 'classifier';

/** An inference thread's task: `count` units packed at the front of `input`, room for as many outputs in `output`. */
export interface BatchTask {
  model: ModelName;
  /** batchSize units' room, as bytes (a float32 model's units are their float bytes). */
  input: Uint8Array;
  /** batchSize outputs' room, as bytes; the first `count` are written. */
  output: Uint8Array;
  count: number;
}

/** The task's buffers back (for reuse) and the model's run time. */
export interface BatchResult {
  input: Uint8Array;
  output: Uint8Array;
  ms: number;
}

/**
 * One item's share of a batched model: `count` units of `unitIn` bytes each in `input`, their
 * outputs (`unitOut` bytes each) written into `output` as batches come back.
 */
export interface UnitJob<T> {
  item: T;
  count: number;
  input: Uint8Array;
  output: Uint8Array;
  /** The item's share of its batches' run time. */
  ms: number;
  /** Set when a batch holding one of its units failed. */
  error?: string;
}

/** A unit job whose outputs are still coming in. */
interface Pending<T> {
  job: UnitJob<T>;
  left: number;
}

interface UnitRef<T> {
  pending: Pending<T>;
  index: number;
}

export interface BatchedModelOptions {
  model: ModelName;
  /** Bytes of one input unit and of its output. */
  unitIn: number;
  unitOut: number;
  batchSize: number;
  maxWaitMs: number;
  /** Batches on the pool at a time (a batch waits for a free place and fills meanwhile). */
  places: number;
}

/** Counters of a batched model run; all optional. */
export interface BatchedModelStats {
  /** Units waiting for a batch to fill. */
  batch?: StageStats;
  /** Batches running on the inference threads. */
  infer?: StageStats;
  fill?: BatchFill;
}

/**
 * A model on the inference pool, run in micro-batches that mix the units (patches, line crops) of
 * many items: each job's units are packed into reusable batch buffers, a batch leaves when it is
 * full or has waited `maxWaitMs` and one of `places` is free, and a job comes out once all its
 * units' outputs are back (in completion order). A failed batch fails the jobs it held.
 */
export class BatchedModel {
  private readonly free: BatchResult[] = [];

  constructor(private readonly pool: PiscinaPool, private readonly opts: BatchedModelOptions) {}

  /** Jobs in, the same jobs out with their outputs (or `error`) once every unit is back. */
  run<T>(stats: BatchedModelStats = {}): OperatorFunction<UnitJob<T>, UnitJob<T>> {
    const { batchSize, maxWaitMs, places } = this.opts;
    return (jobs) =>
      defer(() => {
        const placesFree = new Credits(places, `${this.opts.model}Places`);
        return jobs.pipe(
          mergeMap((job) => this.unitsOf(job)),
          microBatch<UnitRef<T>>({ maxSize: batchSize, maxWaitMs, credits: placesFree, stats: stats.batch }),
          poolMap((batch: Array<UnitRef<T>>) => this.runBatch(batch, stats.fill), { concurrency: places, stats: stats.infer }),
          releaseCredit(placesFree),
          mergeMap((done) => from(done)),
        );
      });
  }

  private unitsOf<T>(job: UnitJob<T>): Observable<UnitRef<T>> {
    const pending: Pending<T> = { job, left: job.count };
    return range(0, job.count).pipe(map((index) => ({ pending, index })));
  }

  /** Packs a batch into reusable buffers, runs it, scatters the outputs back; emits the jobs it completed. */
  private runBatch<T>(batch: Array<UnitRef<T>>, fill?: BatchFill): Observable<Array<UnitJob<T>>> {
    const { unitIn, unitOut, batchSize, model } = this.opts;
    const buffers = this.free.pop() ?? { input: new Uint8Array(batchSize * unitIn), output: new Uint8Array(batchSize * unitOut), ms: 0 };
    batch.forEach(({ pending, index }, k) => buffers.input.set(pending.job.input.subarray(index * unitIn, (index + 1) * unitIn), k * unitIn));
    const task: BatchTask = { model, input: buffers.input, output: buffers.output, count: batch.length };
    fill?.record(batch.length, new Set(batch.map((u) => u.pending)).size);
    const run = piscinaRunner<BatchTask, BatchResult>(this.pool, { name: 'runBatch', transfer: (t) => buffersOf(t.input, t.output) });
    const completed = (each: (ref: UnitRef<T>, k: number) => void) => {
      const done: Array<UnitJob<T>> = [];
      batch.forEach((ref, k) => {
        each(ref, k);
        if (--ref.pending.left === 0) done.push(ref.pending.job);
      });
      return done;
    };
    return from(run(task)).pipe(
      tap((result) => this.free.push(result)),
      map((result) =>
        completed(({ pending: { job }, index }, k) => {
          job.output.set(result.output.subarray(k * unitOut, (k + 1) * unitOut), index * unitOut);
          job.ms += result.ms / batch.length;
        }),
      ),
      // A failed run fails the jobs it held (its buffers went with the task; new ones replace them).
      catchError((err: Error) => of(completed(({ pending: { job } }) => (job.error ??= `inference failed: ${err.message}`)))),
    );
  }
}
