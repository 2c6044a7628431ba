import { TestScheduler } from 'rxjs/testing';
import { Subject, lastValueFrom, of, toArray } from 'rxjs';
import { poolMap, StageStats } from '../../operators';

describe('poolMap', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('runs at most `concurrency` tasks, the rest wait in order', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('-abc----|');
      const result = source.pipe(poolMap((x: string) => cold('---(r|)', { r: x.toUpperCase() }), { concurrency: 2 }));
      expectObservable(result).toBe('----AB-C|');
    });
  });

  it('completes after the source completes and the last task finishes', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const source = hot('-a|');
      const result = source.pipe(poolMap(() => cold('-----(r|)'), { concurrency: 1 }));
      expectObservable(result).toBe('------(r|)');
    });
  });

  it('forwards a task error and cancels the other tasks', () => {
    testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('-----(r|)');
      const failing = cold('--#');
      const source = hot('-ab---');
      const result = source.pipe(poolMap((x: string) => (x === 'a' ? slow : failing), { concurrency: 2 }));
      expectObservable(result).toBe('----#');
      expectSubscriptions(slow.subscriptions).toBe('-^--!');
    });
  });

  it('cancels running tasks and drops waiting items on unsubscribe', () => {
    testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const task = cold('-----(r|)');
      const source = hot('-abc---');
      const result = source.pipe(poolMap(() => task, { concurrency: 1 }));
      expectObservable(result, '^---!').toBe('----');
      expectSubscriptions(task.subscriptions).toBe('-^--!');
    });
  });

  it('takes the concurrency alone, as mergeMap(fn, n) does, and defaults to unbounded', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const task = (x: string) => cold('---(r|)', { r: x.toUpperCase() });
      expectObservable(hot('-abc----|').pipe(poolMap(task, 2))).toBe('----AB-C|');
      expectObservable(hot('-abc----|').pipe(poolMap(task))).toBe('----ABC-|');
    });
  });

  it('rejects a concurrency that is not a positive integer', () => {
    expect(() => poolMap(() => [1], 0)).toThrow('poolMap: concurrency must be a positive integer or Infinity, got 0');
    expect(() => poolMap(() => [1], { concurrency: 1.5 })).toThrow(/got 1.5/);
  });

  it('reports nothing in flight or queued once unsubscribed', () => {
    testScheduler.run(({ hot, cold }) => {
      const stats = new StageStats('pool', () => testScheduler.now());
      const subscription = hot('-abc').pipe(poolMap(() => cold('-----(r|)'), { concurrency: 1, stats })).subscribe();
      testScheduler.schedule(() => {
        expect(stats.snapshot()).toMatchObject({ inFlight: 1, queued: 2 });
        subscription.unsubscribe();
        expect(stats.snapshot()).toMatchObject({ inFlight: 0, queued: 0, processed: 0 });
      }, 4);
    });
  });

  it('drains synchronous runners without recursion', async () => {
    const out = await lastValueFrom(of(...Array.from({ length: 50_000 }, (_, i) => i)).pipe(poolMap((x: number) => of(x), { concurrency: 1 }), toArray()));
    expect(out).toHaveLength(50_000);
  });

  it('reports queue depth and busy time', () => {
    testScheduler.run(({ hot, cold, flush }) => {
      const stats = new StageStats('pool', () => testScheduler.now());
      hot('-abc|').pipe(poolMap(() => cold('----(r|)'), { concurrency: 1, stats })).subscribe();
      let maxQueued = 0;
      stats.changes$.subscribe((s) => (maxQueued = Math.max(maxQueued, s.queued)));
      flush();
      const snap = stats.snapshot();
      expect(maxQueued).toBe(2);
      expect(snap.processed).toBe(3);
      expect(snap.busyMs).toBe(12);
      expect(snap.backpressureMs).toBe(7);
    });
  });
});
