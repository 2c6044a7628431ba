import sharp from 'sharp';
import { lastValueFrom, of, toArray } from 'rxjs';
import { StageStats } from '../operators';
import { resolveConfig } from '../src/config';
import { PatchLayout, tilePatches } from '../src/decode/tile';
import { Transformer } from '../src/stages/transformer';
import { renderSyntheticPage } from '../src/synth/pages';
import { correctPage } from '../src/transform/correct';
import { RgbImage } from '../src/transform/image';
import { pageWork, type PlannedPage } from '../src/page';
import type { DecodedFrame, PageSummary, TextLine, TransformPlan } from '../src/types';
import type { AnyPage } from './helpers/pages';

// The worker runs from dist/: build first (`npx tsc -p .`; `npm test` does).

const layout: PatchLayout = { patchSize: 128, overlap: 16, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const cfg = resolveConfig({ input: 'unused', output: 'unused', transformWorkers: 1, analysisMaxSide: 520 });

async function decode(encoded: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(encoded).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pixels: new Uint8Array(data) };
}

/** A decoded frame of a copy of `image` (its own buffer, so it can be transferred). */
function frameOf(image: RgbImage): DecodedFrame {
  const pixels = image.pixels.slice();
  return { ...image, pixels, channels: 3, sourceWidth: image.width * 2, sourceHeight: image.height * 2, patches: tilePatches(pixels, image.width, image.height, layout) };
}

/** A summary with no lines, measured on `frame`. */
const noLines = (frame: DecodedFrame): PageSummary => ({ orientationDeg: 0, skewDeg: 0, confidence: 0, textLines: 0, textCoverage: 0, curvaturePx: 0, lines: [], width: frame.width, height: frame.height });

function page(seq: number, frame: DecodedFrame, plan: TransformPlan, summary: PageSummary = noLines(frame)): PlannedPage {
  return { ...pageWork({ volumeId: 'v', key: `p${seq}.png`, etag: 'e', size: 1, seq }), state: 'planned', frame, plan, summary };
}

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe('Transformer', () => {
  const transformer = new Transformer(cfg, layout);
  afterAll(() => transformer.close());

  const run = (pages: PlannedPage[], stats?: StageStats): Promise<AnyPage[]> => lastValueFrom(of(...pages).pipe(transformer.apply(stats), toArray()));

  it('turns a page back upright on a worker thread, re-tiled, as the next pass', async () => {
    const spec = { seed: 3, width: 360, height: 500, format: 'png' as const };
    const upright = await decode(await renderSyntheticPage(spec));
    const frame = frameOf(await decode(await renderSyntheticPage({ ...spec, rotate: 90 })));
    const sent = frame.pixels;
    const stats = new StageStats('transform');
    const [out] = await run([page(0, frame, { kind: 'rotate', rotateDeg: 90, dewarp: false })], stats);

    expect(sent.byteLength).toBe(0); // moved to the worker, not copied
    expect(out.state).toBe('decoded');
    expect(out.pass).toBe(2);
    expect(out.correction?.plan).toEqual({ kind: 'rotate', rotateDeg: 90, dewarp: false });
    expect(out.timings!.transformMs).toBeGreaterThan(0);
    expect(out.frame).toMatchObject({ width: 360, height: 500, channels: 3, sourceWidth: 1000, sourceHeight: 720 });
    expect(sameBytes(out.frame!.pixels, upright.pixels)).toBe(true);
    const expected = tilePatches(upright.pixels, 360, 500, layout);
    expect(out.frame!.patches).toMatchObject({ count: expected.count, cols: expected.cols, rows: expected.rows, size: 128 });
    expect(sameBytes(out.frame!.patches.data, expected.data)).toBe(true);
    expect(stats.snapshot().processed).toBe(1);
  });

  it('rotates, then dewarps with the summary lines (scaled to the frame), at analysis scale', async () => {
    const [width, height] = [500, 400];
    const lines: TextLine[] = [80, 160, 240, 320].map((y0) => ({
      points: Array.from({ length: 11 }, (_, i): [number, number] => [50 + 40 * i, y0 + 12 * Math.sin((Math.PI * (50 + 40 * i)) / width)]),
      height: 4,
      angleDeg: 0,
      curvaturePx: 12,
    }));
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${lines
      .map((l) => `<polyline points="${l.points.map((p) => p.join(',')).join(' ')}" fill="none" stroke="black" stroke-width="4"/>`)
      .join('')}</svg>`;
    const image = await decode(Buffer.from(svg));
    const plan: TransformPlan = { kind: 'tps', rotateDeg: 3, dewarp: true };
    // The summary was measured on a half-size frame.
    const halfLines = lines.map((l) => ({ ...l, points: l.points.map(([x, y]): [number, number] => [x / 2, y / 2]) }));
    const summary = { orientationDeg: 0 as const, skewDeg: 3, confidence: 1, textLines: 4, textCoverage: 0.1, curvaturePx: 6, lines: halfLines, width: width / 2, height: height / 2 };

    const [out] = await run([page(1, frameOf(image), plan, summary)]);
    const expected = await correctPage(image, plan, lines, cfg.analysisMaxSide);
    expect(out.state).toBe('decoded');
    expect(Math.max(out.frame!.width, out.frame!.height)).toBe(cfg.analysisMaxSide); // grown by the turn, scaled back
    expect([out.frame!.width, out.frame!.height]).toEqual([expected.width, expected.height]);
    expect(sameBytes(out.frame!.pixels, expected.pixels)).toBe(true);
  });

  it('gives a page it cannot correct back uncorrected, with the reason, and corrects the others', async () => {
    const image = await decode(await renderSyntheticPage({ seed: 9, width: 200, height: 280, format: 'png' }));
    const plan: TransformPlan = { kind: 'rotate', rotateDeg: 2, dewarp: false };
    const truncated = page(2, { ...frameOf(image), height: image.height + 50 }, plan);
    const good = page(4, frameOf(image), plan);

    const out = await run([truncated, good]);
    const bySeq = new Map(out.map((w) => [w.task!.seq, w]));
    expect(out).toHaveLength(2);
    expect(bySeq.get(2)).toMatchObject({ state: 'uncorrected', pass: 1, plan, reason: expect.stringMatching(/^transform: frame of 200×330 needs 198000 bytes/) });
    expect(bySeq.get(4)).toMatchObject({ state: 'decoded', pass: 2, frame: { width: planWidth(200, 280, 2) }, correction: { plan, first: good.summary } });
  });

  it("leaves libvips' process-wide operation cache off once its threads have loaded sharp (sharp turns it on in every thread that loads it)", async () => {
    sharp.cache(false); // as the decode threads leave it
    const later = new Transformer(cfg, layout);
    try {
      const image = await decode(await renderSyntheticPage({ seed: 9, width: 200, height: 280, format: 'png' }));
      await lastValueFrom(of(page(5, frameOf(image), { kind: 'rotate', rotateDeg: 2, dewarp: false })).pipe(later.apply(), toArray()));
      const { memory, files, items } = sharp.cache();
      expect([memory.max, files.max, items.max]).toEqual([0, 0, 0]);
    } finally {
      await later.close();
    }
  });
});

/** Width of a frame turned by `deg` (for the expectation above, independent of the code under test). */
function planWidth(width: number, height: number, deg: number): number {
  const rad = (deg * Math.PI) / 180;
  return Math.ceil(width * Math.cos(rad) + height * Math.sin(rad));
}
