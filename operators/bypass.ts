import { OperatorFunction, connect, filter, merge } from 'rxjs';

/**
 * Lets the items `passes` picks go straight on, and runs the others through `stage`.
 *
 * <span class="informal">The "failed items skip this stage" idiom in one place: `connect` to one
 * subscription of the source, `filter` it two ways, `merge` the halves back.</span>
 *
 * ```
 * stage = delay(3), passes = uppercase
 * source:  -a-B-c-D-|
 * result:  ---Ba--Dc|
 * ```
 *
 * The source is subscribed once. Passing items keep their order and go on at once; the stage's
 * results come as the stage emits them, so the two kinds may interleave. The result completes when
 * the source and the stage have both completed, errors when either errors, and unsubscribing
 * unsubscribes the stage.
 *
 * @param passes Picks the items that skip the stage (a type guard: the ones it picks are `B`).
 * @param stage The operator the other items (`T`) go through.
 * @return A function that returns an Observable of the passing items and the stage's results.
 */
export function bypass<T, B, R>(passes: (item: T | B) => item is B, stage: OperatorFunction<T, R>): OperatorFunction<T | B, B | R> {
  return connect((items) =>
    merge(
      items.pipe(filter(passes)),
      items.pipe(
        filter((item): item is T => !passes(item)),
        stage,
      ),
    ),
  );
}
