import { Observable, Subject } from 'rxjs';

/**
 * A counting semaphore that bounds how many items are between two points of a pipeline.
 *
 * An item takes a credit where it enters (`pullWithCredits`, `weightedMerge`, `acquireCredit`)
 * and gives it back where it leaves (`releaseCredit`, or `release()` by hand). Upstream only moves
 * while credits are free, so a slow downstream stage slows the fast ones in front of it and the
 * number of items (and their buffers) between the two points never exceeds `capacity`.
 *
 * Create one per subscription (inside `defer`) so a pipeline can be subscribed more than once.
 */
export class Credits {
  private used = 0;
  private peakUsed = 0;
  private readonly freed = new Subject<void>();
  /** Emits (synchronously) each time credits are given back. */
  readonly released$: Observable<void> = this.freed.asObservable();

  constructor(readonly capacity: number, readonly name = 'credits') {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${name}: capacity must be a positive integer, got ${capacity}`);
  }

  /** Credits free now. */
  get available(): number { return this.capacity - this.used; }
  /** Credits held now. */
  get inUse(): number { return this.used; }
  /** The most credits ever held at once. */
  get peak(): number { return this.peakUsed; }

  /** Takes one credit if one is free. */
  tryAcquire(): boolean {
    if (this.used >= this.capacity) return false;
    this.used++;
    if (this.used > this.peakUsed) this.peakUsed = this.used;
    return true;
  }

  /** Gives `n` credits back and wakes whoever waits for them. */
  release(n = 1): void {
    if (n > this.used) throw new Error(`${this.name}: released ${n} credit(s) but only ${this.used} are held`);
    this.used -= n;
    this.freed.next();
  }
}
