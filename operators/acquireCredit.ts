import { OperatorFunction } from 'rxjs';
import { Credits } from './credits';
import { StageStats } from './stageStats';
import { weightedMerge } from './weightedMerge';

/**
 * Lets an item pass only when it can take one of `credits`; the rest wait in order.
 *
 * <span class="informal">The entry of a bounded section: pair it with `releaseCredit(credits)`
 * (or `credits.release()`) at the section's exit and at most `credits.capacity` items are ever
 * inside. It is a one-lane {@link weightedMerge}.</span>
 *
 * ```
 * source:  -a-b-c-|
 * credits: capacity 1, released 3 frames after each emission
 * result:  -a---b---(c|)
 * ```
 *
 * @param credits The section's budget.
 * @param stats Optional stats: queue depth and time spent waiting for a credit.
 * @return A function that returns an Observable of the same items, admitted one credit each.
 */
export function acquireCredit<T>(credits: Credits, stats?: StageStats): OperatorFunction<T, T> {
  return (source) => weightedMerge([{ source, weight: 1 }], { credits, stats });
}
