import { join } from 'node:path';
import Piscina from 'piscina';
import { Subject, firstValueFrom, from, lastValueFrom, of, toArray } from 'rxjs';
import { drainPool, piscinaRunner, poolCapacity, poolMap } from '../../operators';

const worker = join(__dirname, '../fixtures/doubleWorker.js');

describe('piscinaRunner', () => {
  const pool = new Piscina({ filename: worker, maxThreads: 2, minThreads: 2 });
  afterAll(() => pool.close());

  it('transfers buffers to the worker and back instead of copying them', async () => {
    const inputs = [1, 2, 3, 4].map((v) => new Float64Array(1024).fill(v));
    const run = piscinaRunner<Float64Array, Float64Array>(pool, { name: 'double', transfer: (a) => [a.buffer as ArrayBuffer] });
    const out = await lastValueFrom(of(...inputs).pipe(poolMap(run, { concurrency: poolCapacity(pool) }), toArray()));
    expect(inputs.every((a) => a.buffer.byteLength === 0)).toBe(true); // detached: moved, not copied
    expect(out.map((a) => a[0]).sort()).toEqual([2, 4, 6, 8]);
    expect(out.every((a) => a.length === 1024)).toBe(true);
  });

  it('hands the pool only as many tasks as it has threads; the rest wait outside it', async () => {
    const run = piscinaRunner<number, number>(pool, { name: 'slow' });
    const out = await lastValueFrom(
      of(...Array.from({ length: 8 }, (_, i) => i)).pipe(
        poolMap((x: number) => {
          expect(pool.queueSize).toBe(0);
          return run(x);
        }, { concurrency: 8 }),
        toArray(),
      ),
    );
    expect(out.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('on unsubscribe drops waiting tasks, lets running ones finish on their thread and ignores their results', async () => {
    const one = new Piscina({ filename: worker, maxThreads: 1, minThreads: 1 });
    try {
      const before = await one.run(null, { name: 'thread' });
      const run = piscinaRunner<number, number>(one, { name: 'slow' });
      const items = new Subject<number>();
      const results: number[] = [];
      const subscription = items.pipe(poolMap(run, { concurrency: 4 })).subscribe((r) => results.push(r));
      for (let i = 0; i < 4; i++) items.next(i); // one runs, three wait for the thread
      subscription.unsubscribe();
      // The next task queues behind the one that was running: it sees the same thread, with that task finished.
      const after = await firstValueFrom(piscinaRunner<null, { threadId: number; finished: number }>(one, { name: 'thread' })(null) as never);
      expect(after).toEqual({ threadId: before.threadId, finished: before.finished + 1 });
      expect(results).toEqual([]);
    } finally {
      await one.close();
    }
  });

  it('starts the waiting task of the highest priority first when a thread frees, in arrival order among equals', async () => {
    const one = new Piscina({ filename: worker, maxThreads: 1, minThreads: 1 });
    try {
      const low = piscinaRunner<number, number>(one, { name: 'slow' });
      const high = piscinaRunner<number, number>(one, { name: 'slow', priority: 1 });
      const done: number[] = [];
      const all = [low(0), low(1), low(2), high(3), high(4)].map((task) => lastValueFrom(from(task)).then((r) => done.push(r)));
      await Promise.all(all);
      // 0 took the free thread; then both high ones, then the low ones in order.
      expect(done).toEqual([0, 3, 4, 1, 2]);
    } finally {
      await one.close();
    }
  });

  it('drainPool waits for every running task on every thread, and fails the waiting ones', async () => {
    const two = new Piscina({ filename: worker, maxThreads: 2, minThreads: 2 });
    const run = piscinaRunner<number, number>(two, { name: 'slow' });
    const results: number[] = [];
    const errors: string[] = [];
    for (let i = 0; i < 3; i++) from(run(i)).subscribe({ next: (r) => results.push(r), error: (e: Error) => errors.push(e.message) });
    await drainPool(two);
    expect(results.sort()).toEqual([0, 1]); // both threads' tasks ran to their end
    expect(errors).toEqual(['task: the thread pool is closed']);
    await two.destroy();
  });
});
