import { Observable } from 'rxjs';
import { Credits } from './credits';
import { StageStats } from './stageStats';

/**
 * A source that pulls from an async iterable only while credits are free.
 *
 * <span class="informal">The pull-based ingress of a bounded pipeline: one credit per pulled item,
 * given back by `releaseCredit` (or `credits.release()`) where the item leaves. Unlike
 * `from(asyncIterable)`, which reads as fast as the iterable yields, nothing is read (or listed, or
 * fetched) while the pipeline is full.</span>
 *
 * ```
 * iterable: a b c d e            (ready at once)
 * credits:  capacity 2, one released at frame 5 and one at frame 8
 * result:   (ab)-----c--d--(e|)
 * ```
 *
 * At most one `next()` is outstanding at a time. When the iterable is done the unused credit is
 * given back and the result completes; when it throws, the result errors. Unsubscribing calls the
 * iterator's `return()`, so a generator runs its `finally` blocks.
 *
 * @param source The items, produced on demand.
 * @param credits The budget each pulled item takes one credit of.
 * @param stats Optional stats: `blocked` while waiting for a credit.
 * @return An Observable of the source's items, no faster than credits come back.
 */
export function pullWithCredits<T>(source: AsyncIterable<T>, credits: Credits, stats?: StageStats): Observable<T> {
  return new Observable<T>((subscriber) => {
    const iterator = source[Symbol.asyncIterator]();
    let pulling = false;
    let done = false;

    const pump = () => {
      if (pulling || done || subscriber.closed) return;
      if (!credits.tryAcquire()) { stats?.blocked(true); return; }
      stats?.blocked(false);
      pulling = true;
      iterator.next().then(
        (result) => {
          pulling = false;
          if (subscriber.closed) return;
          if (result.done) {
            done = true;
            credits.release();
            subscriber.complete();
            return;
          }
          stats?.done();
          subscriber.next(result.value);
          pump();
        },
        (err) => {
          pulling = false;
          done = true;
          credits.release();
          subscriber.error(err);
        },
      );
    };

    const wake = credits.released$.subscribe(pump);
    pump();
    return () => {
      wake.unsubscribe();
      if (!done) {
        done = true;
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
    };
  });
}
