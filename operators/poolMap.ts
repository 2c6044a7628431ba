import { Observable, ObservableInput, OperatorFunction, Subscription, from } from 'rxjs';
import { StageStats } from './stageStats';

/** Runs one item as a task: an Observable (or Promise) of its result; unsubscribing cancels it. */
export type TaskRunner<T, R> = (item: T) => ObservableInput<R>;

export interface PoolMapConfig {
  /** Tasks running at once (default `Infinity`, as `mergeMap`); other items wait in arrival order. */
  concurrency?: number;
  stats?: StageStats;
}

/**
 * Runs each item as a task on a worker pool, at most `concurrency` at a time.
 *
 * <span class="informal">`mergeMap(runner, concurrency)` written for worker pools: it drains its
 * queue with a loop (no recursion with synchronous runners), reports queue depth and busy time,
 * and on unsubscribe cancels running tasks and drops queued ones. With `piscinaRunner` the
 * tasks run on a piscina pool with their ArrayBuffers transferred, not copied.</span>
 *
 * ```
 * concurrency 2, runner x → X after 3 frames
 * source:  -abc----|
 * result:  ----AB-C|       (c waits for a free slot)
 * ```
 *
 * Results come in completion order. The waiting queue is bounded only by what upstream pushes:
 * put credits in front (`acquireCredit`, `pullWithCredits`) to bound it. A runner that returns a
 * Promise resolves on promise time, not on a `TestScheduler`'s virtual frames: in marble tests
 * inject a runner that returns `cold(...)` (see README, "Marble-testing a stage").
 *
 * @param runner Starts one task; the injectable seam that lets marble tests use `cold()`.
 * @param config Concurrency and optional stats, or the concurrency alone (`poolMap(fn, 2)`).
 * @return A function that returns an Observable of the tasks' results.
 */
export function poolMap<T, R>(runner: TaskRunner<T, R>, config: PoolMapConfig | number = {}): OperatorFunction<T, R> {
  const { concurrency = Infinity, stats } = typeof config === 'number' ? { concurrency: config } : config;
  if (!(concurrency === Infinity || (Number.isInteger(concurrency) && concurrency >= 1))) {
    throw new RangeError(`poolMap: concurrency must be a positive integer or Infinity, got ${concurrency}`);
  }
  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting: T[] = [];
      let active = 0;
      let sourceDone = false;
      let draining = false;
      const tasks = new Subscription();

      const report = () => {
        stats?.set(active, waiting.length);
        stats?.blocked(waiting.length > 0);
      };
      const drain = () => {
        if (draining) return;
        draining = true;
        try {
          while (active < concurrency && waiting.length > 0 && !subscriber.closed) start(waiting.shift() as T);
          report();
          if (sourceDone && active === 0 && waiting.length === 0) subscriber.complete();
        } catch (err) {
          subscriber.error(err);
        } finally {
          draining = false;
        }
      };
      const start = (item: T) => {
        active++;
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          active--;
          stats?.done();
          drain();
        };
        let task: Subscription | undefined;
        task = from(runner(item)).subscribe({
          next: (result) => subscriber.next(result),
          error: (err) => subscriber.error(err),
          complete: () => {
            if (task) tasks.remove(task);
            finish();
          },
        });
        if (!task.closed) tasks.add(task);
      };

      const upstream = source.subscribe({
        next: (item) => {
          waiting.push(item);
          drain();
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          drain();
        },
      });
      return () => {
        upstream.unsubscribe();
        tasks.unsubscribe();
        waiting.length = 0;
        stats?.stopped();
      };
    });
}
