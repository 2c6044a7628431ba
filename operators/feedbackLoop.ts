import { Observable, OperatorFunction, Subject } from 'rxjs';
import { StageStats } from './stageStats';

/** What the body of a {@link feedbackLoop} says about an item: it leaves, or it goes round again. */
export type LoopStep<T, R> = { kind: 'exit'; value: R } | { kind: 'reenter'; value: T };

/** The item leaves the loop as `value`. */
export function exitLoop<R>(value: R): LoopStep<never, R> {
  return { kind: 'exit', value };
}

/** The item goes round the loop again as `value`. */
export function reenterLoop<T>(value: T): LoopStep<T, never> {
  return { kind: 'reenter', value };
}

/**
 * Runs items through a body whose results either leave or go round again, and completes exactly
 * when the source has completed and no item is left inside.
 *
 * <span class="informal">`expand` with a choice: the body gets two inputs, the source items and the
 * items that re-enter, merges them as it likes (with `weightedMerge`, say) and tags each result
 * with `exitLoop` or `reenterLoop`.</span>
 *
 * ```
 * source:   -a---b-|
 * body:     a → reenter a' (2 frames), a' → exit A (2 frames), b → exit B (1 frame)
 * result:   -----AB|
 * ```
 *
 * The loop counts items: +1 when one enters from the source, unchanged when one re-enters
 * (it keeps its credit, so a budgeted loop cannot deadlock on itself), −1 when one exits. It
 * completes when the source is complete and the count is 0; if the body completes while items
 * are still inside, the result errors instead of dropping them. Items re-enter through a queue
 * drained by a loop, not by recursion, so a synchronous body cannot overflow the stack.
 * The re-entry Subject is created per subscription.
 *
 * @param body Builds the loop from the source items and the re-entering items.
 * @param stats Optional stats: items inside the loop and items waiting to re-enter.
 * @return A function that returns an Observable of the exiting values.
 */
export function feedbackLoop<T, R>(
  body: (initial$: Observable<T>, reentry$: Observable<T>) => Observable<LoopStep<T, R>>,
  stats?: StageStats,
): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const reentry = new Subject<T>();
      const waiting: T[] = [];
      let inside = 0;
      let sourceDone = false;
      let draining = false;

      const report = () => stats?.set(inside, waiting.length);
      const completeIfEmpty = () => {
        if (sourceDone && inside === 0 && !subscriber.closed) {
          reentry.complete();
          subscriber.complete();
        }
      };
      const drainReentry = () => {
        if (draining) return;
        draining = true;
        try {
          while (waiting.length > 0 && reentry.observed && !subscriber.closed) reentry.next(waiting.shift() as T);
        } finally {
          draining = false;
        }
      };

      const initial$ = new Observable<T>((inner) =>
        source.subscribe({
          next: (value) => {
            inside++;
            report();
            inner.next(value);
          },
          error: (err) => inner.error(err),
          complete: () => {
            sourceDone = true;
            inner.complete();
            completeIfEmpty();
          },
        }),
      );

      // Items that re-enter before the body has subscribed to reentry$ wait for it.
      const reentry$ = new Observable<T>((inner) => {
        const subscription = reentry.subscribe(inner);
        drainReentry();
        return subscription;
      });

      let steps: Observable<LoopStep<T, R>>;
      try {
        steps = body(initial$, reentry$);
      } catch (err) {
        subscriber.error(err);
        return;
      }
      const subscription = steps.subscribe({
        next: (step) => {
          if (step.kind === 'exit') {
            inside--;
            report();
            stats?.done();
            subscriber.next(step.value);
            completeIfEmpty();
          } else {
            waiting.push(step.value);
            report();
            drainReentry();
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          if (inside > 0) subscriber.error(new Error(`feedbackLoop: body completed with ${inside} item(s) still inside`));
          else completeIfEmpty();
        },
      });
      return () => {
        subscription.unsubscribe();
        reentry.complete();
      };
    });
}
