import { TestScheduler } from 'rxjs/testing';
import { Subject, delay, map, mergeMap, timer } from 'rxjs';
import { bypass } from '../../operators';

type Item = { ok: true; v: string } | { ok: false; v: string };
const failedItem = (x: Item): x is Extract<Item, { ok: false }> => !x.ok;

describe('bypass', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });
  const upper = (x: string): x is 'A' | 'B' | 'C' | 'D' => x === x.toUpperCase();

  it('passes the picked items on at once, in their order, and runs the others through the stage', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-B-C-d-D-|');
      const subs = '      ^----------!';
      // a's stage run is slow: B and C overtake it, and the bypassed items keep their order.
      const result = source.pipe(bypass(upper, mergeMap((x) => timer(x === 'a' ? 6 : 1).pipe(map(() => x + '!')))));
      expectObservable(result).toBe('---B-C-xyD-|', { B: 'B', C: 'C', D: 'D', x: 'a!', y: 'd!' });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('completes only when both the source and the stage have completed', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      expectObservable(hot('-a-B|').pipe(bypass(upper, delay(5)))).toBe('---B--(a|)');
      expectObservable(hot('-A--|').pipe(bypass(upper, delay(5)))).toBe('-A--|');
    });
  });

  it('forwards an error of the source and of the stage', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      expectObservable(hot('-a-B-#').pipe(bypass(upper, delay(1)))).toBe('--aB-#');
      expectObservable(hot('-A-b-C-|').pipe(bypass(upper, mergeMap(() => cold('-#', undefined, new Error('stage')))))).toBe('-A--#', undefined, new Error('stage'));
    });
  });

  it('unsubscribes the stage when the result is unsubscribed', () => {
    testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const inner = cold('----x|');
      const result = hot('-a-B--').pipe(bypass(upper, mergeMap(() => inner)));
      expectObservable(result, '^---!').toBe('---B');
      expectSubscriptions(inner.subscriptions).toBe('-^--!');
    });
  });

  it('narrows both sides by the type guard', () => {
    const items = new Subject<Item>();
    const seen: string[] = [];
    items.pipe(bypass(failedItem, map((x) => `ran ${x.v}`)), map((x) => (typeof x === 'string' ? x : `failed ${x.v}`))).subscribe((x) => seen.push(x));
    items.next({ ok: true, v: '1' });
    items.next({ ok: false, v: '2' });
    items.complete();
    expect(seen).toEqual(['ran 1', 'failed 2']);
  });
});
