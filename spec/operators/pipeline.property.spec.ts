import fc from 'fast-check';
import { defer, from, lastValueFrom, map, tap, toArray } from 'rxjs';
import { Credits, exitLoop, feedbackLoop, poolMap, pullWithCredits, reenterLoop, releaseCredit, weightedMerge } from '../../operators';

interface Item {
  id: number;
  rounds: number;
}

describe('feedbackLoop + weightedMerge + credits under random schedules', () => {
  it('gives exactly one output per input, completes, and never exceeds the budgets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.nat(3), { minLength: 0, maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (s, roundsPerItem, budgetSize, slotCount, concurrency) => {
          const budget = new Credits(budgetSize, 'budget');
          const slots = new Credits(slotCount, 'slots');
          async function* items() {
            for (let id = 0; id < roundsPerItem.length; id++) yield await s.schedule(Promise.resolve({ id, rounds: roundsPerItem[id] }));
          }
          const pipeline = pullWithCredits(items(), budget).pipe(
            feedbackLoop<Item, number>((initial$, reentry$) =>
              weightedMerge([{ source: reentry$, weight: 3 }, { source: initial$, weight: 1 }], { credits: slots }).pipe(
                poolMap((item: Item) => from(s.schedule(Promise.resolve(item))), { concurrency }),
                releaseCredit(slots),
                map((item) => (item.rounds > 0 ? reenterLoop({ ...item, rounds: item.rounds - 1 }) : exitLoop(item.id))),
              ),
            ),
            releaseCredit(budget),
            toArray(),
          );
          const out = await s.waitFor(lastValueFrom(pipeline));
          expect([...out].sort((a, b) => a - b)).toEqual(roundsPerItem.map((_, i) => i));
          expect(budget.peak).toBeLessThanOrEqual(budgetSize);
          expect(slots.peak).toBeLessThanOrEqual(slotCount);
          expect(budget.inUse).toBe(0);
          expect(slots.inUse).toBe(0);
        },
      ),
      { numRuns: 250 },
    );
  });

  it('serves the lanes 3:1 within one item in every window of 4 while both have items', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 20, max: 60 }), async (s, slotCount, perLane) => {
        const slots = new Credits(slotCount);
        const queued = { P: perLane, N: perLane };
        const served: Array<'P' | 'N'> = [];
        const contended: boolean[] = [];
        const lane = (name: 'P' | 'N') => defer(() => from(Array.from({ length: perLane }, () => name)));
        const merged = weightedMerge([{ source: lane('P'), weight: 3 }, { source: lane('N'), weight: 1 }], { credits: slots }).pipe(
          tap((name) => {
            contended.push(queued.P > 0 && queued.N > 0);
            queued[name]--;
            served.push(name);
          }),
          poolMap((name: 'P' | 'N') => from(s.schedule(Promise.resolve(name))), { concurrency: slotCount }),
          releaseCredit(slots),
          toArray(),
        );
        await s.waitFor(lastValueFrom(merged));
        expect(served).toHaveLength(2 * perLane);
        for (let i = 0; i + 4 <= served.length; i++) {
          if (!contended.slice(i, i + 4).every(Boolean)) continue;
          const p = served.slice(i, i + 4).filter((n) => n === 'P').length;
          expect(Math.abs(p - 3)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 200 },
    );
  });
});
