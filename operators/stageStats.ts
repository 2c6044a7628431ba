import { Observable, Subject } from 'rxjs';

/** A point-in-time view of one stage. */
export interface StageSnapshot {
  stage: string;
  /** Items the stage is working on now. */
  inFlight: number;
  /** Items waiting inside the stage (for a slot, a credit or a worker). */
  queued: number;
  /** Items the stage has finished. */
  processed: number;
  /** Time with at least one item in flight. */
  busyMs: number;
  /** Time items waited because downstream (or the credit budget) had no room. */
  backpressureMs: number;
  /** Per-lane counts, for stages that have lanes (the weighted merge). */
  lanes?: Record<string, number>;
  /** Per-lane time items waited in the stage's queue (median and 95th percentile, ms). */
  laneWaitMs?: Record<string, { p50: number; p95: number }>;
}

/** Keeps the last `size` samples; sorts them at most once per change, however many percentiles are read. */
class Samples {
  private readonly values: number[] = [];
  private sorted: number[] | null = null;
  private next = 0;
  constructor(private readonly size = 4096) {}

  add(value: number): void {
    if (this.values.length < this.size) this.values.push(value);
    else this.values[this.next++ % this.size] = value;
    this.sorted = null;
  }

  percentile(p: number): number {
    const sorted = (this.sorted ??= [...this.values].sort((a, b) => a - b));
    return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
  }
}

/**
 * Counters one operator keeps about itself. Pass an instance in an operator's `stats` option and
 * subscribe to `changes$` (throttle it with `auditTime` if you draw it) or call `snapshot()`.
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
  /** Emits a snapshot after every change. */
  readonly changes$: Observable<StageSnapshot> = this.changes.asObservable();

  /** @param now The clock (ms); pass the TestScheduler's `now` in marble tests. */
  constructor(readonly stage: string, readonly now: () => number = () => performance.now()) {}

  get inFlight(): number { return this._inFlight; }
  get queued(): number { return this._queued; }
  get processed(): number { return this._processed; }

  /** Sets the in-flight and queued counts; busy time runs while in-flight > 0. */
  set(inFlight: number, queued: number): void {
    const t = this.now();
    if (inFlight > 0 && this.busySince < 0) this.busySince = t;
    if (inFlight === 0 && this.busySince >= 0) { this.busyTotal += t - this.busySince; this.busySince = -1; }
    this._inFlight = inFlight;
    this._queued = queued;
    this.emit();
  }

  /** Marks the stage as held back by downstream (true) or free to go (false). */
  blocked(isBlocked: boolean): void {
    const t = this.now();
    if (isBlocked && this.blockedSince < 0) this.blockedSince = t;
    else if (!isBlocked && this.blockedSince >= 0) { this.blockedTotal += t - this.blockedSince; this.blockedSince = -1; }
  }

  /** Counts one finished item, optionally for a lane and with the time it waited in the stage. */
  done(lane?: string, waitedMs?: number): void {
    this._processed++;
    if (lane !== undefined) {
      this.laneCounts[lane] = (this.laneCounts[lane] ?? 0) + 1;
      if (waitedMs !== undefined) (this.laneWaits[lane] ??= new Samples()).add(waitedMs);
    }
    this.emit();
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
    if (Object.keys(this.laneCounts).length) snap.lanes = { ...this.laneCounts };
    const waits = Object.entries(this.laneWaits);
    if (waits.length) snap.laneWaitMs = Object.fromEntries(waits.map(([lane, w]) => [lane, { p50: w.percentile(0.5), p95: w.percentile(0.95) }]));
    return snap;
  }

  private emit(): void {
    if (this.changes.observed) this.changes.next(this.snapshot());
  }
}
