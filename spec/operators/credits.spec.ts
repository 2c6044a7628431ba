import { TestScheduler } from 'rxjs/testing';
import { delay, lastValueFrom, tap, toArray } from 'rxjs';
import { acquireCredit, Credits, pullWithCredits, releaseCredit } from '../../operators';

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

describe('pullWithCredits', () => {
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
