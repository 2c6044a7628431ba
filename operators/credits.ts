import { Observable, SchedulerLike, Subject, Subscription, asyncScheduler } from 'rxjs';

export interface CreditsOptions {
  /**
   * How long an operator may wait for a credit while none is given back before it errors with a
   * message naming these credits (default 300 000 ms: 5 min, longer than one item should take;
   * `Infinity` waits for ever). A forgotten `releaseCredit` then fails loudly instead of hanging
   * once `capacity` items are out.
   */
  stallMs?: number;
  /** The clock of the stall timer (default `asyncScheduler`; a `TestScheduler` in marble tests). */
  scheduler?: SchedulerLike;
}

/**
 * A counting semaphore that bounds how many items are between two points of a pipeline.
 *
 * An item takes a credit where it enters (`pullWithCredits`, `weightedMerge`, `acquireCredit`,
 * `microBatch`) and gives it back where it leaves (`releaseCredit`, or `release()` by hand).
 * Upstream only moves while credits are free, so a slow downstream stage slows the fast ones in
 * front of it and the number of items (and their buffers) between the two points never exceeds
 * `capacity`. An operator that waits `stallMs` for a credit with none given back meanwhile errors
 * (see {@link CreditsOptions.stallMs}).
 *
 * Create one per subscription (inside `defer`) so a pipeline can be subscribed more than once.
 */
export class Credits {
  private used = 0;
  private peakUsed = 0;
  private readonly freed = new Subject<void>();
  /** `acquire` callers waiting for a credit, first first. */
  private readonly queue: Array<() => void> = [];
  /** Emits (synchronously) each time credits are given back. */
  readonly released$: Observable<void> = this.freed.asObservable();
  readonly stallMs: number;
  readonly scheduler: SchedulerLike;

  constructor(readonly capacity: number, readonly name = 'credits', options: CreditsOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${name}: capacity must be a positive integer, got ${capacity}`);
    this.stallMs = options.stallMs ?? 300_000;
    this.scheduler = options.scheduler ?? asyncScheduler;
    if (!(this.stallMs > 0)) throw new RangeError(`${name}: stallMs must be positive, got ${options.stallMs}`);
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

  /**
   * Waits for a credit and takes it (for code outside a pipeline, e.g. a request limit). Waiters
   * are served in the order they asked: a credit given back goes to the first of them at once, so
   * no newcomer can jump the queue. Aborting `signal` while waiting leaves the queue and rejects
   * with its reason. Give the credit back with `release()`.
   */
  acquire(signal?: AbortSignalLike): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.length === 0 && this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.queue.splice(this.queue.indexOf(take), 1);
        reject(signal?.reason);
      };
      const take = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(take);
    });
  }

  /** Gives `n` credits back and wakes whoever waits for them. */
  release(n = 1): void {
    if (n > this.used) throw new Error(`${this.name}: released ${n} credit(s) but only ${this.used} are held`);
    this.used -= n;
    // Promise waiters first, in order, so that none is overtaken; then the operators.
    while (this.queue.length > 0 && this.tryAcquire()) this.queue.shift()?.();
    this.freed.next();
  }

  /**
   * For an operator that waits for these credits: while `set(true)` is in force, calls `stalled`
   * with an error naming `operator`, these credits and `waiting()` once `stallMs` pass without a
   * credit given back. `set(false)` ends the wait; `stop()` on teardown.
   */
  stallWatch(operator: string, waiting: () => string, stalled: (err: Error) => void): StallWatch {
    let watch: Subscription | null = null;
    const fail = () =>
      stalled(
        new Error(
          `${operator}: waited ${this.stallMs} ms for a credit of "${this.name}" (capacity ${this.capacity}, ${this.used} held) ` +
            `while ${waiting()}, and none was given back: is releaseCredit(${this.name}) missing downstream, or is a stage stuck?`,
        ),
      );
    const stop = () => {
      watch?.unsubscribe();
      watch = null;
    };
    return {
      set: (isWaiting) => {
        if (!isWaiting) stop();
        else if (!watch && this.stallMs !== Infinity) {
          const w = new Subscription();
          let timer = this.scheduler.schedule(fail, this.stallMs);
          w.add(() => timer.unsubscribe());
          w.add(this.freed.subscribe(() => {
            timer.unsubscribe();
            timer = this.scheduler.schedule(fail, this.stallMs);
          }));
          watch = w;
        }
      },
      stop,
    };
  }
}

/** What `Credits.acquire` needs of an `AbortSignal` (typed structurally: no DOM or Node types needed). */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** See {@link Credits.stallWatch}. */
export interface StallWatch {
  set(waiting: boolean): void;
  stop(): void;
}
