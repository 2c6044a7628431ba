import { lastValueFrom, mergeMap, from, ignoreElements, defer } from 'rxjs';
import { Credits, poolMap, pullWithCredits, releaseCredit } from '../../operators';

/** 2,000 items of 1 MB each from a fast source, consumed slowly; counts buffers alive at once. */
function fastSource(live: { now: number; peak: number }) {
  return (async function* () {
    for (let i = 0; i < 2000; i++) {
      live.now++;
      live.peak = Math.max(live.peak, live.now);
      yield Buffer.alloc(1 << 20, i & 0xff);
    }
  })();
}

function slowConsumer(live: { now: number }) {
  return (buffer: Buffer) =>
    defer(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      live.now--;
      return buffer.length;
    });
}

describe('memory under a fast source and a slow consumer', () => {
  it('keeps live buffers within the credit budget', async () => {
    const live = { now: 0, peak: 0 };
    const credits = new Credits(16);
    let peakArrayBuffers = 0;
    await lastValueFrom(
      pullWithCredits(fastSource(live), credits).pipe(
        poolMap(slowConsumer(live), { concurrency: 2 }),
        mergeMap(async (n) => {
          peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
          return n;
        }),
        releaseCredit(credits),
        ignoreElements(),
      ),
      { defaultValue: undefined },
    );
    expect(live.now).toBe(0);
    expect(live.peak).toBeLessThanOrEqual(16);
    // Reported for the closing note: external buffer memory stays near budget × 1 MB.
    console.log(JSON.stringify({ bounded: { peakLiveBuffers: live.peak, peakArrayBuffersMB: Math.round(peakArrayBuffers / 2 ** 20) } }));
  });

  it('(contrast) from(asyncIterable) + mergeMap(fn, 2) lets them pile up', async () => {
    const live = { now: 0, peak: 0 };
    await lastValueFrom(from(fastSource(live)).pipe(mergeMap(slowConsumer(live), 2), ignoreElements()), { defaultValue: undefined });
    expect(live.peak).toBeGreaterThan(16);
    console.log(JSON.stringify({ unbounded: { peakLiveBuffers: live.peak } }));
  });
});
