import { Observable, ObservableInput, Subscription, from } from 'rxjs';
import { Credits } from './credits';
import { StageStats, followCredits } from './stageStats';

/** One input of {@link weightedMerge}. */
export interface Lane<T> {
  source: ObservableInput<T>;
  /** Share of the slots this lane gets while every lane has items waiting. */
  weight: number;
  /** For stats; defaults to the lane's index. */
  name?: string;
}

export interface WeightedMergeConfig {
  /**
   * Slots downstream: one is taken per emitted item, downstream gives it back when done. Without
   * credits nothing ever waits, so the result is a plain `merge` and the weights never act.
   */
  credits?: Credits;
  stats?: StageStats;
}

/**
 * Merges lanes by weight, releasing an item only when downstream has a free slot.
 *
 * <span class="informal">Like `merge`, but each lane has its own queue, every emitted item holds one
 * of `credits` until downstream calls `credits.release()`, and when several lanes have items waiting
 * the free slots go to them in smooth weighted round-robin order.</span>
 *
 * ```
 * credits: capacity 1, released 2 frames after each emission
 * lane P (weight 3): -a-b-c-d-------|
 * lane N (weight 1): -w-x-y---------|
 * result:            -a-b-c-w-d-x-y-|      (a alone at 1, then P, P, N, P and N, N)
 * ```
 *
 * Selection (nginx's smooth weighted round-robin): at each free slot every lane that has items
 * adds its weight to its current value, the largest value wins (ties go to the earlier lane) and
 * the winner subtracts the sum of the eligible weights. With weights 3:1 the order is P, P, N, P.
 * Lanes without items take no part and their value is reset, so the merge is work-conserving (a
 * lone busy lane gets every slot) and an idle lane saves up no burst.
 *
 * Queues grow only with what the lanes push; bound them with credits upstream. Completes when every
 * lane has completed and every queue is empty (at once for no lanes); an error from any lane errors
 * the result; unsubscribing unsubscribes every lane. Items waiting `credits.stallMs` with no credit
 * given back error the result, naming the credits.
 *
 * @param lanes The inputs, in tie-breaking order.
 * @param config The downstream slots and optional stats.
 * @return An Observable of the lanes' items in weighted order.
 */
export function weightedMerge<T>(lanes: Lane<T>[], config: WeightedMergeConfig = {}): Observable<T> {
  return mergeByWeight('weightedMerge', lanes, config);
}

/** {@link weightedMerge}, with the operator's name for its error messages (`acquireCredit` is one lane of it). */
export function mergeByWeight<T>(operator: string, lanes: Lane<T>[], config: WeightedMergeConfig): Observable<T> {
  const { credits, stats } = config;
  lanes.forEach((lane, i) => {
    if (!(lane.weight > 0)) throw new RangeError(`${operator}: lane ${lane.name ?? i} needs a positive weight`);
  });
  return new Observable<T>((subscriber) => {
    const queues: T[][] = lanes.map(() => []);
    // When each queued item arrived (parallel to queues), for the stats' per-lane wait times.
    const arrived: number[][] = lanes.map(() => []);
    const now = () => stats?.now() ?? 0;
    const current = lanes.map(() => 0);
    const names = lanes.map((lane, i) => lane.name ?? String(i));
    let open = lanes.length;
    let queued = 0;
    let draining = false;
    let again = false;
    const subscription = new Subscription();
    const stall = credits?.stallWatch(operator, () => `${queued} item(s) waited`, (err) => subscriber.error(err));

    const pick = (): number => {
      let total = 0;
      let best = -1;
      for (let i = 0; i < lanes.length; i++) {
        if (queues[i].length === 0) { current[i] = 0; continue; }
        current[i] += lanes[i].weight;
        total += lanes[i].weight;
        if (best < 0 || current[i] > current[best]) best = i;
      }
      current[best] -= total;
      return best;
    };

    const drain = () => {
      if (draining) { again = true; return; }
      draining = true;
      try {
        do {
          again = false;
          while (!subscriber.closed && queued > 0 && (!credits || credits.tryAcquire())) {
            const lane = pick();
            const item = queues[lane].shift() as T;
            queued--;
            const waited = now() - (arrived[lane].shift() as number);
            stats?.done(names[lane], waited);
            subscriber.next(item);
          }
        } while (again && !subscriber.closed);
        if (subscriber.closed) return;
        stats?.set(credits?.inUse ?? 0, queued);
        stats?.blocked(queued > 0);
        stall?.set(queued > 0);
        if (open === 0 && queued === 0) {
          subscriber.complete();
          if (credits && stats) followCredits(credits, stats);
        }
      } catch (err) {
        subscriber.error(err);
      } finally {
        draining = false;
      }
    };

    if (credits) subscription.add(credits.released$.subscribe(drain));
    lanes.forEach((lane, i) => {
      subscription.add(
        from(lane.source).subscribe({
          next: (item) => {
            queues[i].push(item);
            arrived[i].push(now());
            queued++;
            drain();
          },
          error: (err) => subscriber.error(err),
          complete: () => { open--; drain(); },
        }),
      );
    });
    if (open === 0) drain();
    subscription.add(() => {
      stall?.stop();
      if (!credits || !stats || !(open === 0 && queued === 0)) stats?.stopped();
    });
    return subscription;
  });
}

