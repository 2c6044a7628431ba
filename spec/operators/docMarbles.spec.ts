import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestScheduler } from 'rxjs/testing';
import { Observable, delay, map, merge, mergeMap, tap, timer } from 'rxjs';
import {
  acquireCredit, bypass, Credits, exitLoop, feedbackLoop, microBatch, poolMap, pullWithCredits, reenterLoop, releaseCredit, weightedMerge,
} from '../../operators';

/**
 * Runs the marble diagram in every operator's JSDoc. A diagram is a ``` block in a doc comment;
 * its lines `label: <marble>` (a value with one of `-|()#` in its first word) are marbles, the
 * other lines describe the setup, which each scenario below builds. Every marble line of every
 * operator must be read by a scenario.
 */
const dir = join(__dirname, '../../operators');

/** Marble lines by label, from the ``` blocks of a file's doc comments. */
function docMarbles(file: string): Map<string, string> {
  const marbles = new Map<string, string>();
  let inBlock = false;
  for (const raw of readFileSync(join(dir, file), 'utf8').split('\n')) {
    const line = /^\s*\* ?(.*)$/.exec(raw)?.[1];
    if (line === undefined) continue;
    if (line.trim().startsWith('```')) { inBlock = !inBlock; continue; }
    if (!inBlock) continue;
    const m = /^([^:]+):\s+(\S+)/.exec(line);
    if (m && /[-|()#]/.test(m[2])) marbles.set(m[1].trim(), m[2]);
  }
  return marbles;
}

const read = new Map<string, Set<string>>();
/** The marble `label` of `file`'s doc diagram, recorded as read. */
function marble(file: string, label: string): string {
  const value = docMarbles(file).get(label);
  if (value === undefined) throw new Error(`${file}: no marble line "${label}:" in its doc diagram`);
  (read.get(file) ?? read.set(file, new Set()).get(file)!).add(label);
  return value;
}

describe('the marble diagrams in the operators JSDoc', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });
  /** Gives a credit back `frames` after each emission, like a downstream stage that takes that long. */
  const releasedAfter = <T>(credits: Credits, frames: number) => tap<T>(() => testScheduler.schedule(() => credits.release(), frames));

  it('weightedMerge.ts', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const credits = new Credits(1);
      const lanes = [
        { source: cold(marble('weightedMerge.ts', 'lane P (weight 3)')), weight: 3 },
        { source: cold(marble('weightedMerge.ts', 'lane N (weight 1)')), weight: 1 },
      ];
      expectObservable(weightedMerge(lanes, { credits }).pipe(releasedAfter(credits, 2))).toBe(marble('weightedMerge.ts', 'result'));
    });
  });

  it('acquireCredit.ts', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const credits = new Credits(1);
      const result = hot(marble('acquireCredit.ts', 'source')).pipe(acquireCredit(credits), releasedAfter(credits, 3));
      expectObservable(result).toBe(marble('acquireCredit.ts', 'result'));
    });
  });

  it('releaseCredit.ts', () => {
    testScheduler.run(({ hot, expectObservable, flush }) => {
      const credits = new Credits(3);
      [1, 2, 3].forEach(() => credits.tryAcquire());
      const inUse: number[] = [];
      const result = hot(marble('releaseCredit.ts', 'source')).pipe(releaseCredit(credits));
      expectObservable(result.pipe(tap(() => testScheduler.schedule(() => inUse.push(credits.inUse))))).toBe(marble('releaseCredit.ts', 'result'));
      flush();
      expect(inUse).toEqual([2, 1, 0]);
    });
  });

  it('pullWithCredits.ts', () => {
    testScheduler.run(({ expectObservable }) => {
      const credits = new Credits(2);
      const result = pullWithCredits(['a', 'b', 'c', 'd', 'e'], credits).pipe(releasedAfter(credits, 5));
      expectObservable(result).toBe(marble('pullWithCredits.ts', 'result'));
    });
  });

  it('poolMap.ts', () => {
    testScheduler.run(({ hot, cold, expectObservable }) => {
      const result = hot(marble('poolMap.ts', 'source')).pipe(poolMap((x: string) => cold('---(r|)', { r: x.toUpperCase() }), { concurrency: 2 }));
      expectObservable(result).toBe(marble('poolMap.ts', 'result'));
    });
  });

  it('microBatch.ts', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const result = hot(marble('microBatch.ts', 'source')).pipe(microBatch({ maxSize: 3, maxWaitMs: 5 }));
      expectObservable(result).toBe(marble('microBatch.ts', 'result'), { x: ['a', 'b', 'c'], y: ['d'], z: ['e'] });
    });
  });

  it('feedbackLoop.ts', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const body = (initial$: Observable<string>, reentry$: Observable<string>) =>
        merge(initial$, reentry$).pipe(
          mergeMap((x) => {
            if (x === 'a') return timer(2).pipe(map(() => reenterLoop("a'")));
            if (x === "a'") return timer(2).pipe(map(() => exitLoop('A')));
            return timer(1).pipe(map(() => exitLoop(x.toUpperCase())));
          }),
        );
      expectObservable(hot(marble('feedbackLoop.ts', 'source')).pipe(feedbackLoop(body))).toBe(marble('feedbackLoop.ts', 'result'));
    });
  });

  it('bypass.ts', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const upper = (x: string): x is 'B' | 'D' => x === x.toUpperCase();
      const result = hot(marble('bypass.ts', 'source')).pipe(bypass(upper, delay(3)));
      expectObservable(result).toBe(marble('bypass.ts', 'result'));
    });
  });

  it('has read every marble line of every operator', () => {
    const unread = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [...docMarbles(file).keys()].filter((label) => !read.get(file)?.has(label)).map((label) => `${file}: ${label}`));
    expect(unread).toEqual([]);
  });
});

describe('docMarbles (the extractor itself)', () => {
  it('finds the marble lines and leaves the setup lines', () => {
    expect([...docMarbles('weightedMerge.ts').keys()]).toEqual(['lane P (weight 3)', 'lane N (weight 1)', 'result']);
    expect([...docMarbles('pullWithCredits.ts').keys()]).toEqual(['result']);
  });
});
