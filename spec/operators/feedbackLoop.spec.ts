import { TestScheduler } from 'rxjs/testing';
import { EMPTY, Observable, lastValueFrom, map, merge, mergeMap, of, range, take, timer, toArray } from 'rxjs';
import { Credits, exitLoop, feedbackLoop, LoopStep, reenterLoop, releaseCredit, weightedMerge } from '../../operators';

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
        new Error('feedbackLoop: body completed with 1 item(s) still inside'),
      );
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
