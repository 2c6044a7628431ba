import { TestScheduler } from 'rxjs/testing';
import { EMPTY, NEVER, Observable, concat, filter, lastValueFrom, map, merge, mergeMap, of, range, take, timer, toArray } from 'rxjs';
import { Credits, exitLoop, feedbackLoop, LoopStep, poolMap, reenterLoop, releaseCredit, StageStats, weightedMerge } from '../../operators';

describe('feedbackLoop', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  /** a goes round once (2 frames each way), every other item exits after 1 frame. */
  const body = (initial$: Observable<string>, reentry$: Observable<string>): Observable<LoopStep<string, string>> =>
    merge(initial$, reentry$).pipe(
      mergeMap((x) => {
        if (x === 'a') return timer(2).pipe(map(() => reenterLoop('a2')));
        if (x === 'a2') return timer(2).pipe(map(() => exitLoop('A')));
        return timer(1).pipe(map(() => exitLoop(x.toUpperCase())));
      }),
    );

  it('emits what exits and completes when the source is done and nothing is inside', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a---b-|');
      expectObservable(source.pipe(feedbackLoop(body))).toBe('-----AB|');
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
  });

  it('waits for items still going round after the source completed', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('-a|');
      expectObservable(source.pipe(feedbackLoop(body))).toBe('-----(A|)');
    });
  });

  it('completes at once for an empty source', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('--|').pipe(feedbackLoop(body))).toBe('--|');
    });
  });

  it('forwards a source error', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-#').pipe(feedbackLoop(body))).toBe('---#');
    });
  });

  it('forwards a body error', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const failing = (initial$: Observable<string>) => initial$.pipe(mergeMap(() => timer(2).pipe(mergeMap(() => { throw new Error('boom'); }))));
      expectObservable(hot('-a--').pipe(feedbackLoop<string, string>(failing))).toBe('---#', undefined, new Error('boom'));
    });
  });

  it('errors instead of dropping items when the body completes with items inside', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const lossy = (initial$: Observable<string>) => initial$.pipe(take(1), mergeMap(() => EMPTY));
      expectObservable(hot('-a-b-|').pipe(feedbackLoop<string, string>(lossy))).toBe(
        '-#',
        undefined,
        new Error('feedbackLoop: the body completed with 1 item(s) still inside (1 entered, 0 exited)'),
      );
    });
  });

  describe('item-count contract', () => {
    /** Every item exits one frame after it enters, except those `drop` filters out. */
    const exitsAfter1 = (keep: (x: string) => boolean) => (initial$: Observable<string>, reentry$: Observable<string>) =>
      merge(initial$, reentry$).pipe(filter(keep), mergeMap((x) => timer(1).pipe(map(() => exitLoop(x.toUpperCase())))));

    it('errors, after stallMs without progress, when the body loses an item', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const result = hot('-a-b-c|').pipe(feedbackLoop(exitsAfter1((x) => x !== 'b'), { stallMs: 10 }));
        expectObservable(result).toBe('--A---C---------#', { A: 'A', C: 'C' }, new Error(
          'feedbackLoop: 1 item(s) still inside 10 ms after the source completed, and none exited or re-entered since: ' +
            'did the body drop an item (filter, catchError to EMPTY, a task that completed without a result)? (3 entered, 2 exited)',
        ));
      });
    });

    it('errors when one item gives two exits, instead of completing early and losing another', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const twice = (initial$: Observable<string>) =>
          initial$.pipe(mergeMap((x) => (x === 'a' ? of(exitLoop('a1'), exitLoop('a2')) : timer(3).pipe(map(() => exitLoop(x))))));
        expectObservable(hot('-ab|').pipe(feedbackLoop(twice))).toBe('-(a#)', { a: 'a1' }, new Error(
          'feedbackLoop: the body emitted an exit with no item inside: one item gave more than one result (1 entered, 1 exited)',
        ));
      });
    });

    it('errors when the body completes before the source', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const first = (initial$: Observable<string>) => initial$.pipe(take(1), map((x) => exitLoop(x)));
        expectObservable(hot('-a-b-|').pipe(feedbackLoop(first))).toBe('-(a#)', undefined, new Error(
          'feedbackLoop: the body completed before the source did (1 entered, 1 exited)',
        ));
      });
    });

    it('errors when the body subscribes initial$ twice, and reads the source once', () => {
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const source = hot('-a-b-|');
        const twice = (initial$: Observable<string>) => merge(initial$, initial$).pipe(map((x) => exitLoop(x)));
        expectObservable(source.pipe(feedbackLoop(twice))).toBe('#', undefined, new Error(
          'feedbackLoop: the body subscribed to initial$ 2 times; subscribe once (share() it if several operators read it) (0 entered, 0 exited)',
        ));
        expectSubscriptions(source.subscriptions).toBe('(^!)');
      });
    });

    it('errors when the body subscribes reentry$ twice (each re-entering item would go round twice)', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const twice = (initial$: Observable<string>, reentry$: Observable<string>) => merge(initial$, reentry$, reentry$).pipe(map((x) => exitLoop(x)));
        expectObservable(hot('-a|').pipe(feedbackLoop(twice))).toBe('#', undefined, new Error(
          'feedbackLoop: the body subscribed to reentry$ 2 times; subscribe once (share() it if several operators read it) (0 entered, 0 exited)',
        ));
      });
    });

    it('errors on a re-entry with no item inside', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const echo = (initial$: Observable<string>) => initial$.pipe(mergeMap((x) => of(exitLoop(x), reenterLoop(x))));
        expectObservable(hot('-a|').pipe(feedbackLoop(echo))).toBe('-(a#)', undefined, new Error(
          'feedbackLoop: the body emitted a re-entry with no item inside: one item gave more than one result (1 entered, 1 exited)',
        ));
      });
    });

    it('errors when every item exited but the body never completes', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const endless = (initial$: Observable<string>) => concat(initial$.pipe(map((x) => exitLoop(x))), NEVER);
        expectObservable(hot('-a|').pipe(feedbackLoop(endless, { stallMs: 5 }))).toBe('-a-----#', undefined, new Error(
          'feedbackLoop: every item exited and both inputs completed 5 ms ago, but the body has not completed ' +
            '(does it merge a source that never completes?) (1 entered, 1 exited)',
        ));
      });
    });

    it('ends with exact stats: every item processed, none in flight, none queued', () => {
      testScheduler.run(({ hot, flush }) => {
        const stats = new StageStats('loop', () => testScheduler.now());
        hot('-a-b-c|').pipe(feedbackLoop(body, { stats })).subscribe();
        flush();
        expect(stats.snapshot()).toMatchObject({ processed: 3, inFlight: 0, queued: 0 });
      });
    });

    it("lets the body's last task finish, so a stage inside counts every item", () => {
      testScheduler.run(({ cold, hot, flush }) => {
        const pool = new StageStats('pool', () => testScheduler.now());
        const viaPool = (initial$: Observable<string>) =>
          initial$.pipe(poolMap((x: string) => cold('--(r|)', { r: exitLoop(x) }), { concurrency: 2, stats: pool }));
        hot('-abc|').pipe(feedbackLoop(viaPool)).subscribe();
        flush();
        expect(pool.snapshot()).toMatchObject({ processed: 3, inFlight: 0, queued: 0 });
      });
    });
  });

  it('unsubscribes the source and the body on unsubscribe', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-c-d-|');
      expectObservable(source.pipe(feedbackLoop(body)), '^---!').toBe('---');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('serves re-entering items 3:1 against new ones through weightedMerge', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const slots = new Credits(1);
      // Every item goes round once: x → x' (re-enter) → X (exit). One slot, 1 frame per step.
      const loop = (initial$: Observable<string>, reentry$: Observable<string>) =>
        weightedMerge([{ source: reentry$, weight: 3 }, { source: initial$, weight: 1 }], { credits: slots }).pipe(
          mergeMap((x) => timer(1).pipe(map(() => (x.endsWith("'") ? exitLoop(x[0].toUpperCase()) : reenterLoop(`${x}'`))))),
          releaseCredit(slots),
        );
      expectObservable(cold('(abc|)').pipe(feedbackLoop(loop))).toBe('--A-B-(C|)');
    });
  });

  it('drains synchronous re-entry with a loop, not recursion (no stack overflow)', async () => {
    const countdown = (initial$: Observable<number>, reentry$: Observable<number>) =>
      merge(initial$, reentry$).pipe(map((n) => (n > 0 ? reenterLoop(n - 1) : exitLoop('done'))));
    const out = await lastValueFrom(of(100_000, 50_000).pipe(feedbackLoop(countdown), toArray()));
    expect(out).toEqual(['done', 'done']);
  });

  it('is referentially transparent: each subscription has its own loop', async () => {
    const countdown = (initial$: Observable<number>, reentry$: Observable<number>) =>
      merge(initial$, reentry$).pipe(map((n) => (n > 0 ? reenterLoop(n - 1) : exitLoop(n))));
    const looped = range(1, 5).pipe(feedbackLoop(countdown), toArray());
    const [first, second] = await Promise.all([lastValueFrom(looped), lastValueFrom(looped)]);
    expect(first).toEqual([0, 0, 0, 0, 0]);
    expect(second).toEqual(first);
  });
});
