import { TestScheduler } from 'rxjs/testing';
import { delay, Observable } from 'rxjs';
import { Credits, releaseCredit, StageStats, weightedMerge } from '../../operators';

/** Slots are given back `hold` frames after each emission, like a downstream stage that takes that long. */
function served<T>(merged: Observable<T>, credits: Credits, hold: number): Observable<T> {
  return merged.pipe(delay(hold), releaseCredit(credits));
}

describe('weightedMerge', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('serves waiting lanes P, P, N, P for weights 3:1', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const credits = new Credits(1);
      // Lane P's first item goes alone (only P has items at that instant), then both lanes compete.
      const p = cold('(abcdef|)');
      const n = cold('(wxyz|)');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 2);
      expectObservable(result).toBe('--a-b-c-w-d-e-f-x-y-(z|)');
    });
  });

  it('gives every slot to the only lane with items (work-conserving)', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const credits = new Credits(2);
      const p = cold('-----|');
      const n = cold('(abcd|)');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 5);
      expectObservable(result).toBe('-----(ab)-(cd|)');
    });
  });

  it('lets an idle lane save up no burst', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const credits = new Credits(1);
      // N is idle while P is served alone for 8 frames; when N arrives it gets its normal share,
      // not the slots it "missed".
      const p = cold('(abcdefghijklmnop|)');
      const n = hot('--------(wxyz|)');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 1);
      expectObservable(result).toBe('-abcdefghijwklmxnopy(z|)');
    });
  });

  it('never has more items outstanding than credits', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const credits = new Credits(2);
      const p = cold('(abcde|)');
      const result = served(weightedMerge([{ source: p, weight: 1 }], { credits }), credits, 4);
      expectObservable(result).toBe('----(ab)(cd)(e|)');
    });
  });

  it('completes only when every lane completed and every queue is empty', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const credits = new Credits(1);
      const p = cold('a|');
      const n = cold('----------b-|');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 1);
      expectObservable(result).toBe('-a---------b|');
    });
  });

  it('forwards an error from any lane and unsubscribes the others', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const credits = new Credits(4);
      const p = cold('--a--b--');
      const n = cold('---#');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 0);
      expectObservable(result).toBe('--a#');
      expectSubscriptions(p.subscriptions).toBe('^--!');
      expectSubscriptions(n.subscriptions).toBe('^--!');
    });
  });

  it('unsubscribes every lane when the result is unsubscribed', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const credits = new Credits(4);
      const p = cold('--a--b--c--');
      const n = cold('---x--y--z-');
      const result = served(weightedMerge([{ source: p, weight: 3 }, { source: n, weight: 1 }], { credits }), credits, 0);
      expectObservable(result, '^-----!').toBe('--ax-b');
      expectSubscriptions(p.subscriptions).toBe('^-----!');
      expectSubscriptions(n.subscriptions).toBe('^-----!');
    });
  });

  it('reports lane counts, queue depth and time held back by downstream', () => {
    testScheduler.run(({ cold, flush }) => {
      const credits = new Credits(1);
      const stats = new StageStats('merge', () => testScheduler.now());
      const p = cold('(abc|)');
      const n = cold('(x|)');
      served(weightedMerge([{ source: p, weight: 3, name: 'reprocess' }, { source: n, weight: 1, name: 'initial' }], { credits, stats }), credits, 5).subscribe();
      flush();
      const snap = stats.snapshot();
      expect(snap.lanes).toEqual({ reprocess: 3, initial: 1 });
      // Waits: a 0, b 5, c 10 on the reprocess lane; x 15 on the initial lane.
      expect(snap.laneWaitMs).toEqual({ reprocess: { p50: 5, p95: 10 }, initial: { p50: 15, p95: 15 } });
      expect(snap.processed).toBe(4);
      expect(snap.queued).toBe(0);
      // Items waited for the single slot from frame 0 until the last one was admitted at frame 15.
      expect(snap.backpressureMs).toBe(15);
    });
  });

  it('completes at once with no lanes, as merge() does', () => {
    testScheduler.run(({ expectObservable }) => {
      expectObservable(weightedMerge([])).toBe('|');
      expectObservable(weightedMerge([], { credits: new Credits(1) })).toBe('|');
    });
  });

  it('without credits is a plain merge: nothing waits', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(weightedMerge([{ source: cold('-a-(b|)'), weight: 3 }, { source: cold('x--(y|)'), weight: 1 }])).toBe('xa-(by|)');
    });
  });

  it('keeps inFlight in step with the credits after it completed, down to 0', () => {
    testScheduler.run(({ cold, flush }) => {
      const credits = new Credits(2);
      const stats = new StageStats('merge', () => testScheduler.now());
      const inFlight: number[] = [];
      stats.changes$.subscribe((s) => s.inFlight !== inFlight[inFlight.length - 1] && inFlight.push(s.inFlight));
      served(weightedMerge([{ source: cold('(abc|)'), weight: 1 }], { credits, stats }), credits, 3).subscribe();
      flush();
      // a, b admitted at 0; c admitted (and the merge completes) at 3, its credit comes back at 6.
      expect(inFlight).toEqual([0, 1, 2, 1, 0]);
      expect(stats.snapshot()).toMatchObject({ inFlight: 0, queued: 0, processed: 3, busyMs: 6 });
    });
  });

  it('rejects a lane without a positive weight', () => {
    expect(() => weightedMerge([{ source: [1], weight: 0 }], { credits: new Credits(1) })).toThrow(/positive weight/);
  });
});
