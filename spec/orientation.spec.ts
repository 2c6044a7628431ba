import { CLS_CROP_FLOATS, CLS_HEIGHT, CLS_WIDTH, lineCrops, writeTurned } from '../src/model/lineCrops';
import { ORIENTATION, readsUpsideDown } from '../src/model/orientation';
import type { LineFit } from '../src/model/textlines';

/** A horizontal line `length` px long at row y (height 10). */
function line(y: number, length: number): LineFit {
  return { line: { points: [[10, y], [10 + length, y]], height: 10, angleDeg: 0, curvaturePx: 0 }, regressionDeg: 0, length, area: 10 * length };
}

const width = 400;
const height = 400;
const pixels = new Uint8Array(width * height * 3).fill(255);
const cropLength = 3 * CLS_HEIGHT * CLS_WIDTH;

/**
 * A consistent fake classifier: crop c reads P(180) = p180Of(c, round), its 180° turn the other
 * way. Inputs come in round order (see `directionCrops`): the first call's are the first round's
 * crops; the second's are their turns, then the other crops, then the other crops' turns.
 * Records the batch sizes.
 */
function fakeClassifier(p180Of: (crop: number, round: number) => number) {
  const calls: number[] = [];
  const classify = async (data: Float32Array, count: number) => {
    expect(data.length).toBe(count * cropLength);
    calls.push(count);
    const first = calls[0];
    const rest = (count - first) / 2;
    return Float32Array.from({ length: 2 * count }, (_, i) => {
      const j = i >> 1;
      let p: number;
      if (calls.length === 1) p = p180Of(j, 0);
      else if (j < first) p = 1 - p180Of(j, 0);
      else if (j < first + rest) p = p180Of(j, 1);
      else p = 1 - p180Of(j - rest, 1);
      return i % 2 ? p : 1 - p;
    });
  };
  return { classify, calls };
}

/** A fake classifier that reads the first round's crops at P(180) = p180s[0] and the others at p180s[1]. */
const classifierOf = (...p180s: number[]) => fakeClassifier((_crop, round) => p180s[round]);

describe('readsUpsideDown', () => {
  const lines = Array.from({ length: 12 }, (_, i) => line(20 + 30 * i, 100 + 10 * i));

  it('decides on the 4 longest lines (12 crops) when their mean P(180) is decisive', async () => {
    const upright = classifierOf(0.05);
    const up = await readsUpsideDown(lines, pixels, width, height, upright.classify);
    expect(up).toMatchObject({ flipped: false, crops: 12 });
    expect(up.confidence).toBeGreaterThan(0.85);
    expect(upright.calls).toEqual([12]);
    const flipped = classifierOf(0.95);
    const down = await readsUpsideDown(lines, pixels, width, height, flipped.classify);
    expect(down).toMatchObject({ flipped: true, crops: 12 });
    expect(down.confidence).toBeGreaterThan(0.8);
    expect(flipped.calls).toEqual([12]);
  });

  it('classifies the first round\'s crops turned and the next 6 lines both ways when the first round is open (12 + 48 inputs), and decides on the mean of all', async () => {
    // 12 crops at 0.6, then 18 at 0.3: mean (7.2 + 5.4) / 30 = 0.42, upright.
    const open = classifierOf(0.6, 0.3);
    expect((await readsUpsideDown(lines, pixels, width, height, open.classify)).flipped).toBe(false);
    expect(open.calls).toEqual([12, 48]);
    // 12 at 0.4, then 18 at 0.9: mean ≈ 0.7 (longer lines weigh a little more), upside down.
    const late = classifierOf(0.4, 0.9);
    const verdict = await readsUpsideDown(lines, pixels, width, height, late.classify);
    expect(verdict.flipped).toBe(true);
    expect(verdict.p180).toBeGreaterThan(0.66);
    expect(verdict.p180).toBeLessThan(0.7);
    expect(late.calls).toEqual([12, 48]);
  });

  it('reads a page without lines as upright without running the classifier', async () => {
    const none = classifierOf();
    expect(await readsUpsideDown([], pixels, width, height, none.classify)).toEqual({ flipped: false, confidence: 0, p180: 0.5, crops: 0 });
    expect(none.calls).toEqual([]);
  });

  it('uses what there is when the page has fewer lines than one round, with a confidence scaled down', async () => {
    const few = classifierOf(0.9);
    const verdict = await readsUpsideDown(lines.slice(0, 2), pixels, width, height, few.classify);
    expect(verdict.flipped).toBe(true);
    expect(few.calls).toEqual([6]);
    const many = await readsUpsideDown(lines, pixels, width, height, classifierOf(0.9).classify);
    expect(verdict.confidence).toBeCloseTo((many.confidence * 6) / ORIENTATION.fullConfidenceCrops, 6);
  });

  it('gives a vote near ½ a low confidence, and a clear one a high confidence', async () => {
    const open = await readsUpsideDown(lines, pixels, width, height, classifierOf(0.52, 0.52).classify);
    expect(open.confidence).toBeLessThan(0.1);
    const upright = await readsUpsideDown(lines, pixels, width, height, classifierOf(0.45, 0.45).classify);
    expect(upright).toMatchObject({ flipped: false });
    expect(upright.confidence).toBeLessThan(0.15);
    const clear = await readsUpsideDown(lines, pixels, width, height, classifierOf(0.85).classify);
    expect(clear.flipped).toBe(true);
    expect(clear.confidence).toBeGreaterThan(0.6);
  });

  it('reads an open page\'s crops also turned by 180°, so a classifier that reads every input as upside down (its bias on a script) leaves the page open', async () => {
    const biased = async (_data: Float32Array, count: number) => Float32Array.from({ length: 2 * count }, (_, i) => (i % 2 ? 0.65 : 0.35));
    const verdict = await readsUpsideDown(lines, pixels, width, height, biased);
    expect(verdict.flipped).toBe(false);
    expect(verdict.p180).toBeCloseTo(0.5, 6);
    expect(verdict.confidence).toBeLessThan(1e-6);
  });

  it('lets a thick or bowed line (headline, figure edge) weigh less than the even lines', async () => {
    const even = Array.from({ length: 4 }, (_, i) => line(20 + 30 * i, 200));
    const headline: LineFit = { ...line(300, 210), line: { points: [[10, 300], [220, 300]], height: 40, angleDeg: 0, curvaturePx: 20 } };
    // The headline (longest, first) reads 180, the even lines upright.
    const { classify } = fakeClassifier((crop) => (crop < 3 ? 0.99 : 0.2));
    const verdict = await readsUpsideDown([headline, ...even], pixels, width, height, classify);
    // Unweighted: (3 × 0.99 + 12 × 0.2) / 15 = 0.36; the headline's weight is a fraction of a line's.
    expect(verdict.p180).toBeLessThan(0.3);
  });
});

describe('lineCrops contrast normalisation', () => {
  /** A page of `paper` grey with dark bars of `ink` along a line at y = 100. */
  function page(paper: number, ink: number): Uint8Array {
    const px = new Uint8Array(width * height * 3).fill(paper);
    for (let y = 95; y < 105; y++) for (let x = 20; x < 300; x++) if (x % 12 < 6) px.fill(ink, (y * width + x) * 3, (y * width + x) * 3 + 3);
    return px;
  }
  const bar = [line(100, 280)];

  it('gives a dark, low-contrast page (paper 124, ink 60) the crops of a normal one (paper 250, ink 10)', () => {
    const dark = lineCrops(bar, page(124, 60), width, height);
    const normal = lineCrops(bar, page(250, 10), width, height);
    let worst = 0;
    for (let i = 0; i < dark.data.length; i++) worst = Math.max(worst, Math.abs(dark.data[i] - normal.data[i]));
    expect(worst).toBeLessThan(0.05);
    // Full range: the darkest sample is black and the lightest white.
    expect(Math.min(...dark.data)).toBeCloseTo(-1, 2);
    expect(Math.max(...dark.data)).toBeCloseTo(1, 2);
  });

  it('leaves a blank crop as it is', () => {
    const blank = lineCrops(bar, new Uint8Array(width * height * 3).fill(130), width, height);
    const first = blank.data.subarray(0, CLS_WIDTH);
    expect(Math.abs(first[0] - (130 / 127.5 - 1))).toBeLessThan(1e-6);
  });
});

describe('writeTurned', () => {
  it('writes a crop turned by 180°: the text columns turned, the padding left on the right', () => {
    // A short line (crop narrower than CLS_WIDTH) on a gradient page, so every sample differs.
    const px = Uint8Array.from({ length: width * height * 3 }, (_, i) => (Math.floor(i / 3) * 7) % 251);
    const cut = lineCrops([line(100, 40)], px, width, height);
    const w = cut.widths[0];
    expect(w).toBeLessThan(CLS_WIDTH);
    const out = new Float32Array(2 * CLS_CROP_FLOATS);
    writeTurned(cut, 0, out, 1);
    expect(out.subarray(0, CLS_CROP_FLOATS).every((v) => v === 0)).toBe(true);
    const plane = CLS_HEIGHT * CLS_WIDTH;
    const crop = cut.data;
    const turn = out.subarray(CLS_CROP_FLOATS);
    for (const [c, j, k] of [[0, 0, 0], [1, 5, 17], [2, CLS_HEIGHT - 1, w - 1], [0, 20, w >> 1]])
      expect(turn[c * plane + (CLS_HEIGHT - 1 - j) * CLS_WIDTH + (w - 1 - k)]).toBe(crop[c * plane + j * CLS_WIDTH + k]);
    for (let j = 0; j < CLS_HEIGHT; j++) expect(turn[plane + j * CLS_WIDTH + w]).toBe(0);
  });
});
