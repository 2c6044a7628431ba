/**
 * A small async concurrency limiter: at most `limit` holders at once, the rest wait in order.
 * Waiting can be cancelled with an AbortSignal (the waiter leaves the queue and rejects).
 */
export class Limiter {
  private held = 0;
  private peakHeld = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number, readonly name = 'limiter') {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`${name}: limit must be a positive integer, got ${limit}`);
  }

  /** Slots held now. */
  get active(): number { return this.held; }
  /** The most slots ever held at once. */
  get peak(): number { return this.peakHeld; }
  /** Callers waiting for a slot. */
  get waiting(): number { return this.waiters.length; }

  /** Waits for a slot; resolves to the function that gives it back (call it exactly once). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.held < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.take());
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(wake);
    });
  }

  /** Runs `fn` while holding a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private take(): () => void {
    this.held++;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      // Wake the next waiter synchronously, so no newcomer can jump the queue.
      this.waiters.shift()?.();
    };
  }
}
