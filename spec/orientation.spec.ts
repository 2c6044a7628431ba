import { CLS_HEIGHT, CLS_WIDTH, readsUpsideDown } from '../src/model/orientation';
import type { LineFit } from '../src/model/textlines';

/** A horizontal line `length` px long at row y (height 10). */
function line(y: number, length: number): LineFit {
  return { line: { points: [[10, y], [10 + length, y]], height: 10, angleDeg: 0, curvaturePx: 0 }, regressionDeg: 0, length, area: 10 * length };
}

const width = 400;
const height = 400;
const pixels = new Uint8Array(width * height * 3).fill(255);
const cropLength = 3 * CLS_HEIGHT * CLS_WIDTH;

/** A classifier that gives every crop P(180) = p180 for its n-th call, and records the batch sizes. */
function classifierOf(...p180s: number[]) {
  const calls: number[] = [];
  const classify = async (data: Float32Array, count: number) => {
    expect(data.length).toBe(count * cropLength);
    const p = p180s[calls.length];
    calls.push(count);
    return Float32Array.from({ length: 2 * count }, (_, i) => (i % 2 ? p : 1 - p));
  };
  return { classify, calls };
}

describe('readsUpsideDown', () => {
  const lines = Array.from({ length: 12 }, (_, i) => line(20 + 30 * i, 100 + 10 * i));

  it('decides on the 4 longest lines (12 crops) when their mean P(180) is decisive', async () => {
    const upright = classifierOf(0.05);
    expect(await readsUpsideDown(lines, pixels, width, height, upright.classify)).toBe(false);
    expect(upright.calls).toEqual([12]);
    const flipped = classifierOf(0.95);
    expect(await readsUpsideDown(lines, pixels, width, height, flipped.classify)).toBe(true);
    expect(flipped.calls).toEqual([12]);
  });

  it('classifies the next 6 lines too when the first round is open, and decides on the mean of all', async () => {
    // 12 crops at 0.6, then 18 at 0.3: mean (7.2 + 5.4) / 30 = 0.42, upright.
    const open = classifierOf(0.6, 0.3);
    expect(await readsUpsideDown(lines, pixels, width, height, open.classify)).toBe(false);
    expect(open.calls).toEqual([12, 18]);
    // 12 at 0.4, then 18 at 0.9: mean (4.8 + 16.2) / 30 = 0.7, upside down.
    const late = classifierOf(0.4, 0.9);
    expect(await readsUpsideDown(lines, pixels, width, height, late.classify)).toBe(true);
    expect(late.calls).toEqual([12, 18]);
  });

  it('reads a page without lines as upright without running the classifier', async () => {
    const none = classifierOf();
    expect(await readsUpsideDown([], pixels, width, height, none.classify)).toBe(false);
    expect(none.calls).toEqual([]);
  });

  it('uses what there is when the page has fewer lines than one round', async () => {
    const few = classifierOf(0.6);
    expect(await readsUpsideDown(lines.slice(0, 2), pixels, width, height, few.classify)).toBe(true);
    expect(few.calls).toEqual([6]);
  });
});
