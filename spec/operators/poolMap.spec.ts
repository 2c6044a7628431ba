import { TestScheduler } from 'rxjs/testing';
import { join } from 'node:path';
import Piscina from 'piscina';
import { Subject, lastValueFrom, of, toArray } from 'rxjs';
import { piscinaRunner, poolCapacity, poolMap, StageStats } from '../../operators';

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

describe('poolMap on a real piscina pool', () => {
  const pool = new Piscina({ filename: join(__dirname, '../fixtures/doubleWorker.js'), maxThreads: 2, minThreads: 2 });
  afterAll(() => pool.destroy());

  it('transfers buffers to the worker and back instead of copying them', async () => {
    const inputs = [1, 2, 3, 4].map((v) => new Float64Array(1024).fill(v));
    const run = piscinaRunner<Float64Array, Float64Array>(pool, { name: 'double', transfer: (a) => [a.buffer as ArrayBuffer] });
    const out = await lastValueFrom(of(...inputs).pipe(poolMap(run, { concurrency: poolCapacity(pool) }), toArray()));
    expect(inputs.every((a) => a.buffer.byteLength === 0)).toBe(true); // detached: moved, not copied
    expect(out.map((a) => a[0]).sort()).toEqual([2, 4, 6, 8]);
    expect(out.every((a) => a.length === 1024)).toBe(true);
  });

  it('drops queued tasks from the pool and ignores late results on unsubscribe', async () => {
    const run = piscinaRunner<number, number>(pool, { name: 'slow' });
    const items = new Subject<number>();
    const results: number[] = [];
    let firstResult!: () => void;
    const gotFirst = new Promise<void>((resolve) => (firstResult = resolve));
    const subscription = items.pipe(poolMap(run, { concurrency: 8 })).subscribe((r) => {
      results.push(r);
      firstResult();
    });
    for (let i = 0; i < 8; i++) items.next(i);
    expect(pool.queueSize).toBe(6); // two threads busy, six tasks queued
    await gotFirst;
    subscription.unsubscribe();
    const atUnsubscribe = results.length;
    expect(pool.queueSize).toBe(0);
    await pool.run(0, { name: 'slow' }); // let whatever was running settle
    expect(results.length).toBe(atUnsubscribe);
  });
});
