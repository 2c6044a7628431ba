import { Observable } from 'rxjs';
import { Credits } from './credits';
import { StageStats, followCredits } from './stageStats';

export interface PullWithCreditsConfig {
  /** `inFlight`: credits held; `processed`: items pulled; blocked while no credit is free. */
  stats?: StageStats;
}

/**
 * A source that pulls from an iterable (sync or async) only while credits are free.
 *
 * <span class="informal">The pull-based ingress of a bounded pipeline: one credit per pulled item,
 * given back by `releaseCredit` (or `credits.release()`) where the item leaves. Unlike
 * `from(asyncIterable)`, which reads as fast as the iterable yields, nothing is read (or listed, or
 * fetched) while the pipeline is full.</span>
 *
 * ```
 * iterable: [a, b, c, d, e]     (a sync iterable: read at once, so marble-testable)
 * credits:  capacity 2, released 5 frames after each emission
 * result:   (ab)-(cd)-(e|)
 * ```
 *
 * A sync iterable is read synchronously, so a pipeline whose listing is replaced by an array runs
 * under `TestScheduler`; an async one is read with at most one `next()` outstanding, on promise
 * time. When the iterable is done the unused credit is given back and the result completes; when
 * it throws, the result errors. Unsubscribing gives back the credit of a pending `next()` and calls
 * the iterator's `return()`, so a generator runs its `finally` blocks. Subscribing again to a
 * single-use iterable (a generator object) that an earlier subscription already read errors:
 * create it per subscription, inside `defer`. Waiting `credits.stallMs` for a credit with none given
 * back errors the result, naming the credits.
 *
 * @param source The items, produced on demand.
 * @param credits The budget each pulled item takes one credit of.
 * @param config Optional stats (a `StageStats` alone is accepted too).
 * @return An Observable of the source's items, no faster than credits come back.
 */
export function pullWithCredits<T>(
  source: AsyncIterable<T> | Iterable<T>,
  credits: Credits,
  config: PullWithCreditsConfig | StageStats = {},
): Observable<T> {
  const stats = config instanceof StageStats ? config : config.stats;
  const read = new WeakSet<object>();
  return new Observable<T>((subscriber) => {
    const sync = typeof (source as Partial<Iterable<T>>)[Symbol.iterator] === 'function';
    const iterator: AsyncIterator<T> | Iterator<T> = sync ? (source as Iterable<T>)[Symbol.iterator]() : (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    if (read.has(iterator)) {
      subscriber.error(
        new Error('pullWithCredits: this iterable is single-use (a generator object?) and an earlier subscription already read it; create it per subscription, inside defer(() => pullWithCredits(...))'),
      );
      return;
    }
    read.add(iterator);
    const stall = credits.stallWatch('pullWithCredits', () => 'waiting to pull the next item', (err) => subscriber.error(err));
    let pulling = false;
    let pumping = false;
    let again = false;
    let done = false;
    let completed = false;

    const finish = (err?: unknown) => {
      done = true;
      credits.release();
      if (err === undefined) {
        completed = true;
        subscriber.complete();
        if (stats) followCredits(credits, stats);
      } else subscriber.error(err);
    };
    const emit = (value: T) => {
      stats?.done();
      stats?.set(credits.inUse, 0);
      subscriber.next(value);
    };
    /** Takes a credit for the next pull, or says why not. */
    const canPull = () => {
      if (pulling || done || subscriber.closed) return false;
      const free = credits.tryAcquire();
      stats?.blocked(!free);
      stall.set(!free);
      return free;
    };

    const pumpSync = () => {
      if (pumping) { again = true; return; }
      pumping = true;
      try {
        do {
          again = false;
          while (canPull()) {
            const result = (iterator as Iterator<T>).next();
            if (result.done) return finish();
            emit(result.value);
          }
        } while (again);
      } catch (err) {
        if (!done) finish(err);
      } finally {
        pumping = false;
      }
    };

    const pumpAsync = () => {
      if (!canPull()) return;
      pulling = true;
      (iterator as AsyncIterator<T>).next().then(
        (result) => {
          pulling = false;
          if (subscriber.closed) return;
          if (result.done) return finish();
          emit(result.value);
          pumpAsync();
        },
        (err) => {
          pulling = false;
          if (!subscriber.closed) finish(err);
        },
      );
    };

    const pump = sync ? pumpSync : pumpAsync;
    const wake = credits.released$.subscribe(() => pump());
    pump();
    return () => {
      wake.unsubscribe();
      stall.stop();
      if (!completed) stats?.stopped();
      if (!done) {
        done = true;
        if (pulling) credits.release(); // the pending next()'s credit: its item will never be emitted
        try {
          void Promise.resolve(iterator.return?.()).catch(() => undefined);
        } catch {
          // a sync iterator whose return() throws: nothing more to close
        }
      }
    };
  });
}
