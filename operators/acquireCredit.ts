import { OperatorFunction } from 'rxjs';
import { Credits } from './credits';
import { StageStats } from './stageStats';
import { mergeByWeight } from './weightedMerge';

export interface AcquireCreditConfig {
  stats?: StageStats;
}

/**
 * Lets an item pass only when it can take one of `credits`; the rest wait in order.
 *
 * <span class="informal">The entry of a bounded section: pair it with `releaseCredit(credits)`
 * (or `credits.release()`) at the section's exit and at most `credits.capacity` items are ever
 * inside. It is a one-lane {@link weightedMerge}.</span>
 *
 * ```
 * credits: capacity 1, released 3 frames after each emission
 * source:  -a-b-c-|
 * result:  -a--b--(c|)
 * ```
 *
 * Items that wait `credits.stallMs` with no credit given back error the result, naming the credits.
 *
 * @param credits The section's budget.
 * @param config Optional stats (a `StageStats` alone is accepted too): queue depth and time spent waiting for a credit.
 * @return A function that returns an Observable of the same items, admitted one credit each.
 */
export function acquireCredit<T>(credits: Credits, config: AcquireCreditConfig | StageStats = {}): OperatorFunction<T, T> {
  const stats = config instanceof StageStats ? config : config.stats;
  return (source) => mergeByWeight('acquireCredit', [{ source, weight: 1 }], { credits, stats });
}
