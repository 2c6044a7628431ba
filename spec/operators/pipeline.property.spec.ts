import fc from 'fast-check';
import { MonoTypeOperatorFunction, defer, from, lastValueFrom, map, tap, toArray } from 'rxjs';
import { Credits, exitLoop, feedbackLoop, poolMap, pullWithCredits, reenterLoop, releaseCredit, StageStats, weightedMerge } from '../../operators';

interface Item {
  id: number;
  rounds: number;
}

/** Counts the items between two points of a pipeline, measured outside the operators. */
function between() {
  const count = { now: 0, peak: 0 };
  const enter = <T>(): MonoTypeOperatorFunction<T> => tap(() => (count.peak = Math.max(count.peak, ++count.now)));
  const leave = <T>(): MonoTypeOperatorFunction<T> => tap(() => count.now--);
  return { count, enter, leave };
}

describe('feedbackLoop + weightedMerge + credits under random schedules', () => {
  it('gives exactly one output per input, completes, never has more items inside a section than its budget, and ends with exact stats', async () => {
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
          const inPipeline = between();
          const inSlots = between();
          const stats = { ingress: new StageStats('ingress'), merge: new StageStats('merge'), pool: new StageStats('pool'), loop: new StageStats('loop') };
          async function* items() {
            for (let id = 0; id < roundsPerItem.length; id++) yield await s.schedule(Promise.resolve({ id, rounds: roundsPerItem[id] }));
          }
          const pipeline = pullWithCredits(items(), budget, { stats: stats.ingress }).pipe(
            inPipeline.enter(),
            feedbackLoop<Item, number>((initial$, reentry$) =>
              weightedMerge([{ source: reentry$, weight: 3 }, { source: initial$, weight: 1 }], { credits: slots, stats: stats.merge }).pipe(
                inSlots.enter(),
                poolMap((item: Item) => from(s.schedule(Promise.resolve(item))), { concurrency, stats: stats.pool }),
                inSlots.leave(),
                releaseCredit(slots),
                map((item) => (item.rounds > 0 ? reenterLoop({ ...item, rounds: item.rounds - 1 }) : exitLoop(item.id))),
              ),
              { stats: stats.loop },
            ),
            inPipeline.leave(),
            releaseCredit(budget),
            toArray(),
          );
          const out = await s.waitFor(lastValueFrom(pipeline));
          expect([...out].sort((a, b) => a - b)).toEqual(roundsPerItem.map((_, i) => i));
          expect(inPipeline.count.peak).toBeLessThanOrEqual(budgetSize);
          expect(inSlots.count.peak).toBeLessThanOrEqual(slotCount);
          expect(budget.inUse).toBe(0);
          expect(slots.inUse).toBe(0);
          const inputs = roundsPerItem.length;
          const passes = roundsPerItem.reduce((n, rounds) => n + rounds + 1, 0);
          const ends = Object.fromEntries(Object.entries(stats).map(([name, st]) => [name, { ...st.snapshot(), busyMs: 0, backpressureMs: 0 }]));
          expect(ends).toMatchObject({
            ingress: { inFlight: 0, queued: 0, processed: inputs },
            merge: { inFlight: 0, queued: 0, processed: passes },
            pool: { inFlight: 0, queued: 0, processed: passes },
            loop: { inFlight: 0, queued: 0, processed: inputs },
          });
        },
      ),
      { numRuns: 250 },
    );
  });

  it('serves contending lanes in the ratio of their weights: after n picks, each lane within one item of n × its share', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 20, max: 60 }),
        async (s, weightP, weightN, slotCount, perLane) => {
          const slots = new Credits(slotCount);
          // Items each lane has handed to the merge and the merge has not served yet.
          const queued = { P: 0, N: 0 };
          let contendedPicks = 0;
          let contendedP = 0;
          const deviations: number[] = [];
          const lane = (name: 'P' | 'N') => defer(() => from(Array.from({ length: perLane }, () => name))).pipe(tap(() => queued[name]++));
          const merged = weightedMerge([{ source: lane('P'), weight: weightP }, { source: lane('N'), weight: weightN }], { credits: slots }).pipe(
            tap((name) => {
              if (queued.P > 0 && queued.N > 0) {
                contendedPicks++;
                if (name === 'P') contendedP++;
                deviations.push(Math.abs(contendedP - (contendedPicks * weightP) / (weightP + weightN)));
              }
              queued[name]--;
            }),
            poolMap((name: 'P' | 'N') => from(s.schedule(Promise.resolve(name))), { concurrency: slotCount }),
            releaseCredit(slots),
            toArray(),
          );
          await s.waitFor(lastValueFrom(merged));
          expect(queued).toEqual({ P: 0, N: 0 });
          // Both lanes had items for at least perLane picks, so the share was measured over that many.
          expect(contendedPicks).toBeGreaterThanOrEqual(perLane - slotCount);
          expect(Math.max(...deviations)).toBeLessThan(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
