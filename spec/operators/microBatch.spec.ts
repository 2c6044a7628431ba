import { TestScheduler } from 'rxjs/testing';
import { Subject, delay } from 'rxjs';
import { Credits, microBatch, releaseCredit, StageStats } from '../../operators';

describe('microBatch', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('emits full batches at once, partial ones after maxWaitMs, the rest on completion', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d------e-|');
      const subs = '      ^---------------!';
      const expected = '  -----x------y---(z|)';
      const result = source.pipe(microBatch({ maxSize: 3, maxWaitMs: 5, scheduler: testScheduler }));
      expectObservable(result).toBe(expected, { x: ['a', 'b', 'c'], y: ['d'], z: ['e'] });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('never emits an empty batch while the source is idle', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a--------------------b-|');
      const result = source.pipe(microBatch({ maxSize: 8, maxWaitMs: 3, scheduler: testScheduler }));
      expectObservable(result).toBe('4ms x 19ms (y|)', { x: ['a'], y: ['b'] });
    });
  });

  it('starts the wait with the first item of a batch, not on a free-running clock', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('---a-b---c|');
      const result = source.pipe(microBatch({ maxSize: 10, maxWaitMs: 4, scheduler: testScheduler }));
      expectObservable(result).toBe('-------x--(y|)', { x: ['a', 'b'], y: ['c'] });
    });
  });

  it('drops the partial batch and forwards an error at once', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a-b-#');
      const result = source.pipe(microBatch({ maxSize: 3, maxWaitMs: 10, scheduler: testScheduler }));
      expectObservable(result).toBe('-----#');
    });
  });

  it('cancels its pending timer on unsubscribe', () => {
    const scheduler = new TestScheduler(() => undefined);
    const items = new Subject<string>();
    const subscription = items.pipe(microBatch({ maxSize: 3, maxWaitMs: 5, scheduler })).subscribe();
    items.next('a');
    expect(scheduler.actions).toHaveLength(1); // the wait for the batch [a]
    subscription.unsubscribe();
    expect(scheduler.actions).toHaveLength(0);
  });

  it('defaults to one batch of what arrives together', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const result = hot('-(abc)-d|').pipe(microBatch());
      expectObservable(result).toBe('-x-----y|', { x: ['a', 'b', 'c'], y: ['d'] });
    });
  });

  it('with credits, counts the batches holding one as in flight, down to 0 at the end', () => {
    testScheduler.run(({ hot, flush }) => {
      const workers = new Credits(2);
      const stats = new StageStats('batch', () => testScheduler.now());
      const inFlight: number[] = [];
      stats.changes$.subscribe((s) => inFlight.push(s.inFlight));
      hot('-abcd|').pipe(microBatch({ maxSize: 1, maxWaitMs: 1, credits: workers, stats }), delay(3), releaseCredit(workers)).subscribe();
      flush();
      expect(Math.max(...inFlight)).toBe(2);
      expect(stats.snapshot()).toMatchObject({ inFlight: 0, queued: 0, processed: 4 });
    });
  });

  it('with credits, waits for a free worker and lets the batch fill meanwhile', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const workers = new Credits(1);
      const source = hot('-ab-cdef--|');
      // Each batch keeps the one worker busy for 5 frames.
      const result = source.pipe(microBatch({ maxSize: 3, maxWaitMs: 2, credits: workers, scheduler: testScheduler }), delay(5), releaseCredit(workers));
      // [a,b] goes when a has waited 2; c..f collect while the worker is busy; [c,d,e] goes (full)
      // when it is free at 8, [f] when it is free again at 13.
      expectObservable(result).toBe('8ms x 4ms y 4ms (z|)', { x: ['a', 'b'], y: ['c', 'd', 'e'], z: ['f'] });
    });
  });

  it('rejects maxSize below 1', () => {
    expect(() => microBatch({ maxSize: 0, maxWaitMs: 1 })).toThrow(/maxSize/);
  });
});
