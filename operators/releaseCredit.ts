import { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { Credits } from './credits';
import { StageStats } from './stageStats';

export interface ReleaseCreditConfig {
  /** Counts the items that left the section; `inFlight` is the credits still held. */
  stats?: StageStats;
}

/**
 * Gives one of `credits` back for every item that passes, after handing the item on.
 *
 * <span class="informal">The exit of a bounded section opened by `pullWithCredits`,
 * `acquireCredit`, `weightedMerge` or `microBatch`.</span>
 *
 * ```
 * source:  -a-b-c-|
 * result:  -a-b-c-|
 * ```
 *
 * `credits.inUse` drops by one at each emission. Giving back a credit that is not held (one
 * `releaseCredit` too many) errors the result with the credits' name.
 *
 * @param credits The budget the items took their credit from.
 * @param config Optional stats.
 * @return A function that returns an Observable of the same items.
 */
export function releaseCredit<T>(credits: Credits, config: ReleaseCreditConfig = {}): MonoTypeOperatorFunction<T> {
  const { stats } = config;
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (value) => {
          subscriber.next(value);
          try {
            credits.release();
            stats?.done();
            stats?.set(credits.inUse, 0);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}
