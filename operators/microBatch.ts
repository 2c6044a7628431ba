import { OperatorFunction, Observable, SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { StageStats } from './stageStats';

export interface MicroBatchConfig {
  /** A batch is emitted as soon as it holds this many items. */
  maxSize: number;
  /** A partial batch is emitted this long after its first item arrived. */
  maxWaitMs: number;
  scheduler?: SchedulerLike;
  stats?: StageStats;
}

/**
 * Collects items into batches of up to `maxSize`, waiting at most `maxWaitMs` for a batch to fill.
 *
 * <span class="informal">`bufferTime(maxWaitMs, null, maxSize)` without its empty batches and with the
 * timer started by a batch's first item rather than running free, so an item waits at most
 * `maxWaitMs` and an idle stream schedules nothing.</span>
 *
 * ```
 * maxSize 3, maxWaitMs 5
 * source:  -a-b-c-d------e-|
 * result:  -----x------y---(z|)
 * x = [a, b, c] (full), y = [d] (waited 5), z = [e] (flushed on completion)
 * ```
 *
 * Completion flushes the partial batch first; an error drops it and is forwarded at once.
 *
 * @param config Size, wait and the scheduler for the wait.
 * @return A function that returns an Observable of non-empty arrays.
 */
export function microBatch<T>(config: MicroBatchConfig): OperatorFunction<T, T[]> {
  const { maxSize, maxWaitMs, scheduler = asyncScheduler, stats } = config;
  if (!(maxSize >= 1)) throw new RangeError('microBatch: maxSize must be at least 1');
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] = [];
      let timer: Subscription | null = null;

      const flush = () => {
        timer?.unsubscribe();
        timer = null;
        if (batch.length === 0) return;
        const full = batch;
        batch = [];
        stats?.done();
        stats?.set(0, 0);
        subscriber.next(full);
      };

      const subscription = source.subscribe({
        next: (item) => {
          batch.push(item);
          stats?.set(0, batch.length);
          if (batch.length >= maxSize) flush();
          else if (!timer) {
            timer = scheduler.schedule(flush, maxWaitMs);
          }
        },
        error: (err) => {
          batch = [];
          subscriber.error(err);
        },
        complete: () => {
          flush();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        timer?.unsubscribe();
      };
    });
}
