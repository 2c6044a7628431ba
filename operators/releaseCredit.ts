import { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { Credits } from './credits';

/**
 * Gives one of `credits` back for every item that passes, after handing the item on.
 *
 * <span class="informal">The exit of a bounded section opened by `pullWithCredits`,
 * `acquireCredit` or `weightedMerge`.</span>
 *
 * ```
 * source:  -a-b-c-|
 * result:  -a-b-c-|     (credits.inUse drops by one at each emission)
 * ```
 *
 * @param credits The budget the items took their credit from.
 * @return A function that returns an Observable of the same items.
 */
export function releaseCredit<T>(credits: Credits): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) =>
      source.subscribe({
        next: (value) => {
          subscriber.next(value);
          try {
            credits.release();
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}
