import { Observable, Subject } from 'rxjs';
import type { Credits } from './credits';

/**
 * A point-in-time view of one stage. The counts mean the same in every operator:
 * - `queued`: items the stage holds and has not handed on yet;
 * - `inFlight`: items the stage handed on or started and has not seen finish: a running task
 *   (`poolMap`), an item (a batch for `microBatch`) still holding the stage's credit
 *   (`pullWithCredits`, `acquireCredit`, `weightedMerge`, `microBatch`, `releaseCredit`), an item
 *   inside the loop (`feedbackLoop`);
 * - `processed`: items that left the stage (a finished task, an admitted or released item, an exit);
 * - `backpressureMs`: time the stage had an item ready to hand on but no room for it (no credit,
 *   no free worker).
 * When a stage is unsubscribed or errors, its `inFlight` and `queued` drop to 0.
 */
export interface StageSnapshot {
  stage: string;
  /** Items handed on or started and not finished yet (see above). */
  inFlight: number;
  /** Items waiting inside the stage. */
  queued: number;
  /** Items that left the stage. */
  processed: number;
  /** Time with at least one item in flight. */
  busyMs: number;
  /** Time an item was ready to go on but had no room (no credit, no free worker). */
  backpressureMs: number;
  /** Per-lane counts, for stages that have lanes (the weighted merge). */
  lanes?: Record<string, number>;
  /** Per-lane time items waited in the stage's queue (median and 95th percentile, ms). */
  laneWaitMs?: Record<string, { p50: number; p95: number }>;
}

/** The last `size` samples, kept sorted as they come, so a percentile is a lookup. */
class Samples {
  private readonly ring: number[] = [];
  private readonly sorted: number[] = [];
  private next = 0;
  constructor(private readonly size = 4096) {}

  add(value: number): void {
    if (this.ring.length < this.size) this.ring.push(value);
    else {
      this.sorted.splice(this.indexOf(this.ring[this.next]), 1);
      this.ring[this.next] = value;
      this.next = (this.next + 1) % this.size;
    }
    this.sorted.splice(this.indexOf(value), 0, value);
  }

  percentile(p: number): number {
    const { sorted } = this;
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
  }

  /** The first index whose value is not below `value`. */
  private indexOf(value: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Counters one operator keeps about itself (see {@link StageSnapshot} for what they mean). Pass an
 * instance in an operator's `stats` option and subscribe to `changes$` or call `snapshot()`.
 */
export class StageStats {
  private _inFlight = 0;
  private _queued = 0;
  private _processed = 0;
  private busyTotal = 0;
  private busySince = -1;
  private blockedTotal = 0;
  private blockedSince = -1;
  private readonly laneCounts: Record<string, number> = {};
  private readonly laneWaits: Record<string, Samples> = {};
  private readonly changes = new Subject<StageSnapshot>();
  /** Emits a snapshot after every change (a few object allocations; percentiles are kept sorted). */
  readonly changes$: Observable<StageSnapshot> = this.changes.asObservable();

  /** @param now The clock (ms); pass the TestScheduler's `now` in marble tests. */
  constructor(readonly stage: string, readonly now: () => number = () => performance.now()) {}

  get inFlight(): number { return this._inFlight; }
  get queued(): number { return this._queued; }
  get processed(): number { return this._processed; }

  /** Sets the in-flight and queued counts; busy time runs while in-flight > 0. */
  set(inFlight: number, queued: number): void {
    if (inFlight === this._inFlight && queued === this._queued) return;
    const t = this.now();
    if (inFlight > 0 && this.busySince < 0) this.busySince = t;
    if (inFlight === 0 && this.busySince >= 0) { this.busyTotal += t - this.busySince; this.busySince = -1; }
    this._inFlight = inFlight;
    this._queued = queued;
    this.emit();
  }

  /** Marks the stage as holding an item it has no room to hand on (true), or not (false). */
  blocked(isBlocked: boolean): void {
    const t = this.now();
    if (isBlocked && this.blockedSince < 0) this.blockedSince = t;
    else if (!isBlocked && this.blockedSince >= 0) { this.blockedTotal += t - this.blockedSince; this.blockedSince = -1; }
  }

  /** Counts one item that left the stage, optionally for a lane and with the time it waited. */
  done(lane?: string, waitedMs?: number): void {
    this._processed++;
    if (lane !== undefined) {
      this.laneCounts[lane] = (this.laneCounts[lane] ?? 0) + 1;
      if (waitedMs !== undefined) (this.laneWaits[lane] ??= new Samples()).add(waitedMs);
    }
    this.emit();
  }

  /** The stage has stopped (completed, errored or unsubscribed): nothing is in it any more. */
  stopped(): void {
    this.blocked(false);
    this.set(0, 0);
  }

  snapshot(): StageSnapshot {
    const t = this.now();
    const snap: StageSnapshot = {
      stage: this.stage,
      inFlight: this._inFlight,
      queued: this._queued,
      processed: this._processed,
      busyMs: this.busyTotal + (this.busySince >= 0 ? t - this.busySince : 0),
      backpressureMs: this.blockedTotal + (this.blockedSince >= 0 ? t - this.blockedSince : 0),
    };
    let lanes: Record<string, number> | undefined;
    for (const lane in this.laneCounts) (lanes ??= {})[lane] = this.laneCounts[lane];
    if (lanes) snap.lanes = lanes;
    let waits: Record<string, { p50: number; p95: number }> | undefined;
    for (const lane in this.laneWaits) (waits ??= {})[lane] = { p50: this.laneWaits[lane].percentile(0.5), p95: this.laneWaits[lane].percentile(0.95) };
    if (waits) snap.laneWaitMs = waits;
    return snap;
  }

  private emit(): void {
    if (this.changes.observed) this.changes.next(this.snapshot());
  }
}

/**
 * After a credit-holding stage completes, its last items still hold their credits: keeps the
 * stage's `inFlight` in step with `credits.inUse` until they are all given back.
 */
export function followCredits(credits: Credits, stats: StageStats): void {
  if (credits.inUse === 0) return stats.stopped();
  stats.set(credits.inUse, 0);
  const follow = credits.released$.subscribe(() => {
    stats.set(credits.inUse, 0);
    if (credits.inUse === 0) follow.unsubscribe();
  });
}
