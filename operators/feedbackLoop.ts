import { Observable, OperatorFunction, SchedulerLike, Subject, Subscriber, Subscription, asyncScheduler } from 'rxjs';
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

export interface FeedbackLoopConfig {
  /** `inFlight`: items inside the loop; `queued`: items waiting to re-enter; `processed`: exits. */
  stats?: StageStats;
  /**
   * Once the source has completed: how long the loop may go without an exit, a re-entry or (once
   * every item has exited) the body completing, before it errors (default 300 000 ms; `Infinity`
   * waits for ever). This is how an item the body lost (`filter`, `catchError(() => EMPTY)`, a task
   * that completed without a result) becomes an error instead of a hang.
   */
  stallMs?: number;
  /** The clock of the stall timer (default `asyncScheduler`). */
  scheduler?: SchedulerLike;
}

/**
 * Runs items through a body whose results either leave or go round again, and completes when the
 * source has completed, every item has left and the body has completed.
 *
 * <span class="informal">`expand` with a choice: the body gets two inputs, the source items and the
 * items that re-enter, merges them as it likes (with `weightedMerge`, say) and tags each result
 * with `exitLoop` or `reenterLoop`.</span>
 *
 * ```
 * body:     a → reenter a' (2 frames), a' → exit A (2 frames), b → exit B (1 frame)
 * source:   -a---b-|
 * result:   -----AB|
 * ```
 *
 * The contract is one exit per source item. The loop counts: +1 when an item enters from the
 * source, unchanged when one re-enters (it keeps its credit, so a budgeted loop cannot deadlock on
 * itself), −1 when one exits. When the source is complete and the count is 0, `reentry$`
 * completes, and the result completes with the body. Misuse errors the result with a message that
 * names `feedbackLoop` and the counts:
 * - an exit or re-entry while no item is inside (an item gave two exits, say);
 * - the body completing while items are inside, or before the source completed (`take`, `first`);
 * - `initial$` or `reentry$` subscribed more than once (it would read the source twice);
 * - after the source completed, `stallMs` without progress (an item was lost in the body).
 *
 * Items re-enter through a queue drained by a loop, not by recursion, so a synchronous body cannot
 * overflow the stack. The re-entry Subject is created per subscription.
 *
 * @param body Builds the loop from the source items and the re-entering items.
 * @param config Optional stats and stall time (a `StageStats` alone is accepted too).
 * @return A function that returns an Observable of the exiting values.
 */
export function feedbackLoop<T, R>(
  body: (initial$: Observable<T>, reentry$: Observable<T>) => Observable<LoopStep<T, R>>,
  config: FeedbackLoopConfig | StageStats = {},
): OperatorFunction<T, R> {
  const { stats, stallMs = 300_000, scheduler = asyncScheduler } = config instanceof StageStats ? { stats: config } : config;
  if (!(stallMs > 0)) throw new RangeError(`feedbackLoop: stallMs must be positive, got ${stallMs}`);
  return (source) =>
    new Observable<R>((subscriber) => {
      const reentry = new Subject<T>();
      const waiting: T[] = [];
      let entered = 0;
      let exited = 0;
      let sourceDone = false;
      let draining = false;
      let stall: Subscription | undefined;
      const inside = () => entered - exited;
      const counts = () => `${entered} entered, ${exited} exited`;
      const fail = (message: string) => subscriber.error(new Error(`feedbackLoop: ${message} (${counts()})`));

      const report = () => stats?.set(inside(), waiting.length);
      /** After the source completed, (re)starts the stall timer at each sign of progress. */
      const progress = () => {
        if (!sourceDone || stallMs === Infinity || subscriber.closed) return;
        stall?.unsubscribe();
        stall = scheduler.schedule(() => {
          if (inside() > 0) {
            fail(
              `${inside()} item(s) still inside ${stallMs} ms after the source completed, and none exited or re-entered since` +
                `${waiting.length ? ` (${waiting.length} wait to re-enter: the body does not read reentry$)` : ''}` +
                ': did the body drop an item (filter, catchError to EMPTY, a task that completed without a result)?',
            );
          } else fail(`every item exited and both inputs completed ${stallMs} ms ago, but the body has not completed (does it merge a source that never completes?)`);
        }, stallMs);
      };
      const closeIfEmpty = () => {
        if (sourceDone && inside() === 0 && !reentry.closed) reentry.complete();
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
      /** Each input may be read by one subscriber: a second one would read the source twice. */
      const once = (name: string, subscribe: (inner: Subscriber<T>) => Subscription | void) => {
        let subscribed = 0;
        return new Observable<T>((inner) => {
          if (++subscribed > 1) {
            fail(`the body subscribed to ${name} ${subscribed} times; subscribe once (share() it if several operators read it)`);
            return;
          }
          return subscribe(inner);
        });
      };

      const initial$ = once('initial$', (inner) =>
        source.subscribe({
          next: (value) => {
            entered++;
            report();
            inner.next(value);
          },
          error: (err) => inner.error(err),
          complete: () => {
            sourceDone = true;
            inner.complete();
            progress();
            closeIfEmpty();
          },
        }),
      );
      // Items that re-enter before the body has subscribed to reentry$ wait for it.
      const reentry$ = once('reentry$', (inner) => {
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
          if (inside() === 0) return fail(`the body emitted ${step.kind === 'exit' ? 'an exit' : 'a re-entry'} with no item inside: one item gave more than one result`);
          if (step.kind === 'exit') {
            exited++;
            report();
            stats?.done();
            subscriber.next(step.value);
            progress();
            closeIfEmpty();
          } else {
            waiting.push(step.value);
            report();
            progress();
            drainReentry();
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          if (inside() > 0) fail(`the body completed with ${inside()} item(s) still inside`);
          else if (!sourceDone) fail('the body completed before the source did');
          else subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        stall?.unsubscribe();
        reentry.complete();
        stats?.stopped();
      };
    });
}
