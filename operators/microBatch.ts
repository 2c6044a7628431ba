import { OperatorFunction, Observable, SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { Credits } from './credits';
import { StageStats, followCredits } from './stageStats';

export interface MicroBatchConfig {
  /** A batch is emitted as soon as it holds this many items (default `Infinity`). */
  maxSize?: number;
  /** A partial batch is emitted once its oldest item has waited this long (default 0: what arrives together). */
  maxWaitMs?: number;
  /**
   * Optional: the workers that take batches. A batch is emitted only when it can take one of
   * these credits (downstream gives it back when the batch is done); meanwhile items keep
   * collecting, so a busy downstream gets fuller batches instead of a queue of partial ones.
   */
  credits?: Credits;
  scheduler?: SchedulerLike;
  /** `queued`: items collecting; `inFlight`: batches holding a credit; `processed`: batches emitted; blocked while a due batch has no credit. */
  stats?: StageStats;
}

/**
 * Collects items into batches of up to `maxSize`, waiting at most `maxWaitMs` for a batch to fill.
 *
 * <span class="informal">`bufferTime(maxWaitMs, null, maxSize)` without its empty batches and with the
 * wait counted from a batch's oldest item rather than a free-running clock, so an item waits at
 * most `maxWaitMs` and an idle stream schedules nothing. With `credits`, a batch also waits for a
 * free worker, and fills up while it waits.</span>
 *
 * ```
 * maxSize 3, maxWaitMs 5
 * source:  -a-b-c-d------e-|
 * result:  -----x------y---(z|)
 * x = [a, b, c] (full), y = [d] (waited 5), z = [e] (flushed on completion)
 * ```
 *
 * Completion flushes what is left (as credits allow) before completing; an error drops it and is
 * forwarded at once. A due batch that waits `credits.stallMs` with no credit given back errors the
 * result, naming the credits.
 *
 * @param config Size, wait, optional worker credits and the scheduler for the wait.
 * @return A function that returns an Observable of non-empty arrays.
 */
export function microBatch<T>(config: MicroBatchConfig = {}): OperatorFunction<T, T[]> {
  const { maxSize = Infinity, maxWaitMs = 0, credits, scheduler = asyncScheduler, stats } = config;
  if (!(maxSize === Infinity || (Number.isInteger(maxSize) && maxSize >= 1))) throw new RangeError(`microBatch: maxSize must be a positive integer or Infinity, got ${maxSize}`);
  if (!(maxWaitMs >= 0)) throw new RangeError(`microBatch: maxWaitMs must be 0 or more, got ${maxWaitMs}`);
  return (source) =>
    new Observable<T[]>((subscriber) => {
      const queue: T[] = [];
      /** When each queued item arrived (parallel to `queue`). */
      const arrivals: number[] = [];
      let timer: Subscription | null = null;
      let sourceDone = false;
      let draining = false;
      let completed = false;
      const stall = credits?.stallWatch('microBatch', () => `a batch of ${Math.min(queue.length, maxSize)} item(s) was due`, (err) => subscriber.error(err));

      const due = () => queue.length >= maxSize || sourceDone || scheduler.now() - arrivals[0] >= maxWaitMs;

      const drain = () => {
        if (draining) return;
        draining = true;
        try {
          while (queue.length > 0 && !subscriber.closed && due()) {
            if (credits && !credits.tryAcquire()) break;
            const batch = queue.splice(0, maxSize);
            arrivals.splice(0, batch.length);
            stats?.done();
            subscriber.next(batch);
          }
          if (subscriber.closed) return;
          const blocked = queue.length > 0 && due();
          stats?.set(credits?.inUse ?? 0, queue.length);
          stats?.blocked(blocked);
          stall?.set(blocked);
          timer?.unsubscribe();
          timer = queue.length > 0 && !blocked ? scheduler.schedule(drain, arrivals[0] + maxWaitMs - scheduler.now()) : null;
          if (sourceDone && queue.length === 0) {
            completed = true;
            subscriber.complete();
            if (credits && stats) followCredits(credits, stats);
          }
        } catch (err) {
          subscriber.error(err);
        } finally {
          draining = false;
        }
      };

      const wake = credits?.released$.subscribe(drain);
      const upstream = source.subscribe({
        next: (item) => {
          queue.push(item);
          arrivals.push(scheduler.now());
          if (queue.length >= maxSize) drain();
          else if (queue.length === 1 && !timer) timer = scheduler.schedule(drain, maxWaitMs);
        },
        error: (err) => {
          queue.length = 0;
          subscriber.error(err);
        },
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        upstream.unsubscribe();
        wake?.unsubscribe();
        timer?.unsubscribe();
        stall?.stop();
        if (!completed || !credits) stats?.stopped();
      };
    });
}
