import { TestScheduler } from 'rxjs/testing';
import { EMPTY, delay, lastValueFrom, map, retry, tap, toArray } from 'rxjs';
import { acquireCredit, Credits, pullWithCredits, releaseCredit, StageStats } from '../../operators';

describe('Credits', () => {
  it('hands out at most capacity credits and tracks the peak', () => {
    const credits = new Credits(2);
    expect([credits.tryAcquire(), credits.tryAcquire(), credits.tryAcquire()]).toEqual([true, true, false]);
    credits.release();
    expect(credits.available).toBe(1);
    expect(credits.peak).toBe(2);
  });

  it('refuses to give back credits it never gave out', () => {
    expect(() => new Credits(1, 'budget').release()).toThrow('budget: released 1 credit(s) but only 0 are held');
  });

  it('rejects a capacity below 1', () => {
    expect(() => new Credits(0)).toThrow(/positive integer/);
  });

  it('acquire() waits in order, at most capacity at once, and drops an aborted waiter', async () => {
    const credits = new Credits(1);
    await credits.acquire();
    const abort = new AbortController();
    const order: string[] = [];
    const second = credits.acquire(abort.signal).then(() => order.push('aborted one ran'), (err: unknown) => order.push(`aborted: ${String(err)}`));
    const third = credits.acquire().then(() => order.push('third'));
    abort.abort('stop');
    await second;
    credits.release();
    expect(credits.tryAcquire()).toBe(false); // the freed credit went to the waiter, not to a newcomer
    await third;
    credits.release();
    expect(order).toEqual(['aborted: stop', 'third']);
    expect([credits.peak, credits.inUse]).toEqual([1, 0]);
    await expect(credits.acquire(abort.signal)).rejects.toBe('stop');
  });
});

describe('acquireCredit / releaseCredit', () => {
  it('admits an item only when a credit is free', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, expectObservable }) => {
      const credits = new Credits(1);
      const result = hot('-a-b-c-|').pipe(acquireCredit(credits), delay(3), releaseCredit(credits));
      expectObservable(result).toBe('----a--b--(c|)');
    });
  });
});

describe('a forgotten releaseCredit', () => {
  it('errors after stallMs with the credits named, instead of hanging (acquireCredit)', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, expectObservable }) => {
      const credits = new Credits(2, 'slots', { stallMs: 10 });
      expectObservable(hot('-abc-d-|').pipe(acquireCredit(credits))).toBe('-ab----------#', undefined, new Error(
        'acquireCredit: waited 10 ms for a credit of "slots" (capacity 2, 2 held) while 2 item(s) waited, and none was given back: ' +
          'is releaseCredit(slots) missing downstream, or is a stage stuck?',
      ));
    });
  });

  it('restarts the wait at every credit given back, so a slow but moving section never errors', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, expectObservable }) => {
      const credits = new Credits(1, 'slots', { stallMs: 4 });
      expectObservable(hot('-abcd|').pipe(acquireCredit(credits), delay(3), releaseCredit(credits))).toBe('----a--b--c--(d|)');
    });
  });

  it('errors in pullWithCredits too, and never with stallMs Infinity', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ expectObservable }) => {
      const stalling = new Credits(2, 'budget', { stallMs: 7 });
      expectObservable(pullWithCredits('abcd', stalling)).toBe('(ab)---#', undefined, new Error(
        'pullWithCredits: waited 7 ms for a credit of "budget" (capacity 2, 2 held) while waiting to pull the next item, and none was given back: ' +
          'is releaseCredit(budget) missing downstream, or is a stage stuck?',
      ));
      expectObservable(pullWithCredits('abcd', new Credits(2, 'patient', { stallMs: Infinity }))).toBe('(ab)');
    });
  });
});

describe('pullWithCredits', () => {
  it('reads a sync iterable on virtual time', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ expectObservable }) => {
      const credits = new Credits(2);
      expectObservable(pullWithCredits(['a', 'b', 'c', 'd', 'e'], credits).pipe(delay(5), releaseCredit(credits))).toBe('-----(ab)-(cd)-(e|)');
    });
  });

  it('gives back the credit of a pending next() when unsubscribed', async () => {
    const credits = new Credits(2);
    let resolveNext: (r: IteratorResult<number>) => void = () => undefined;
    const slow: AsyncIterable<number> = { [Symbol.asyncIterator]: () => ({ next: () => new Promise((resolve) => (resolveNext = resolve)) }) };
    const subscription = pullWithCredits(slow, credits).subscribe();
    expect(credits.inUse).toBe(1);
    subscription.unsubscribe();
    expect(credits.inUse).toBe(0);
    resolveNext({ value: 1, done: false });
    await Promise.resolve();
    expect(credits.inUse).toBe(0);
  });

  it('refuses to read a single-use iterable again (a retry with the generator made outside defer)', async () => {
    async function* items() {
      yield 1;
      throw new Error('listing failed');
    }
    const credits = new Credits(4);
    const once = pullWithCredits(items(), credits).pipe(retry(1), toArray());
    await expect(lastValueFrom(once)).rejects.toThrow(/pullWithCredits: this iterable is single-use .* inside defer/);
  });

  it('stats: one meaning of in flight (credits held), processed (pulled), held back (no credit) and an exact end', () => {
    const testScheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    testScheduler.run(({ flush }) => {
      const credits = new Credits(2);
      const stats = new StageStats('ingress', () => testScheduler.now());
      pullWithCredits('abcde', credits, { stats }).pipe(delay(3), releaseCredit(credits)).subscribe();
      expect(stats.snapshot()).toMatchObject({ inFlight: 2, processed: 2 });
      flush();
      // Held back (a pull wanted, no credit free) from 0 to 3 and from 3 to 6; e's credit comes back at 9.
      expect(stats.snapshot()).toMatchObject({ inFlight: 0, processed: 5, queued: 0, backpressureMs: 6, busyMs: 9 });
    });
  });

  async function* numbers(n: number, pulled: number[]) {
    for (let i = 0; i < n; i++) {
      pulled.push(i);
      yield i;
    }
  }

  it('pulls no further than the credits allow', async () => {
    const credits = new Credits(3);
    const pulled: number[] = [];
    const seen: Array<{ value: number; pulled: number }> = [];
    const out = await lastValueFrom(
      pullWithCredits(numbers(20, pulled), credits).pipe(
        delay(1),
        tap((value) => seen.push({ value, pulled: pulled.length })),
        releaseCredit(credits),
        toArray(),
      ),
    );
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(credits.peak).toBe(3);
    // When item i leaves, at most i + 3 items have been pulled from the iterable.
    for (const { value, pulled: n } of seen) expect(n).toBeLessThanOrEqual(value + 3);
    expect(credits.inUse).toBe(0);
  });

  it('stops the iterator (runs its finally) on unsubscribe', async () => {
    let finished = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        finished = true;
      }
    }
    const credits = new Credits(2);
    await new Promise<void>((resolve) => {
      const subscription = pullWithCredits(endless(), credits).subscribe((i) => {
        if (i === 1) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
    await new Promise((r) => setImmediate(r));
    expect(finished).toBe(true);
  });

  it('errors when the iterable throws and gives its credit back', async () => {
    async function* broken() {
      yield 1;
      throw new Error('listing failed');
    }
    const credits = new Credits(4);
    await expect(lastValueFrom(pullWithCredits(broken(), credits))).rejects.toThrow('listing failed');
    expect(credits.inUse).toBe(1); // the item that was emitted still holds its credit
  });
});
