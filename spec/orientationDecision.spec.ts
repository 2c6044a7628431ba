import { ascenderVote } from '../src/model/ascenders';
import { ORIENTATION, decideFlip, raggedVote, type OrientationVerdict } from '../src/model/orientation';
import { profileAxis, type LineFit } from '../src/model/textlines';
import { ORIENTATION_GATE, TransformController, confirms, isResult, planFor, probesTurn, publishedOrientation, readsProbe } from '../src/stages/transformController';
import { pageWork, type SummarisedPage } from '../src/page';
import type { DecodedFrame, PageSummary, TransformPlan } from '../src/types';

const cfg = { skewThresholdDeg: 0.3, curvatureThresholdPx: 2, minConfidence: 0.5, maxPasses: 2 as const };

function summary(orientationDeg: PageSummary['orientationDeg'], orientationConfidence: number | undefined, skewDeg = 0): PageSummary {
  return { orientationDeg, orientationConfidence, skewDeg, confidence: 0.9, textLines: 20, textCoverage: 0.2, curvaturePx: 0, lines: [], width: 800, height: 1000 };
}

/** A line from (u0, v) to (u1, v), height 10, along x. */
function line(u0: number, u1: number, v: number): LineFit {
  return { line: { points: [[u0, v], [(u0 + u1) / 2, v], [u1, v]], height: 10, angleDeg: 0, curvaturePx: 0 }, regressionDeg: 0, length: u1 - u0, area: 10 * (u1 - u0) };
}

/** Three paragraphs of a justified column from x = 100 to 500, each ending in a short last line. */
function column(): LineFit[] {
  const lines: LineFit[] = [];
  let v = 100;
  for (let p = 0; p < 3; p++) {
    lines.push(line(120, 500, v)); // first line, indented by 2 heights
    v += 15;
    for (let k = 0; k < 4; k++, v += 15) lines.push(line(100, 500, v));
    lines.push(line(100, 260 + 40 * p, v)); // last line: short at its end
    v += 15;
  }
  return lines;
}

/** The same column turned by 180° about (300, 300): points reversed in reading order along −x. */
function turned(lines: LineFit[]): LineFit[] {
  return lines.map((l) => ({ ...l, line: { ...l.line, points: l.line.points.map(([x, y]): [number, number] => [600 - x, 600 - y]).reverse() } }));
}

const verdict = (p180: number): OrientationVerdict => ({ flipped: p180 > ORIENTATION.flipAbove, confidence: Math.abs(p180 - 0.5), p180, crops: 30 });

describe('raggedVote: the paragraph layout', () => {
  it('counts last lines short at their end on an upright column, and not the indented first lines', () => {
    expect(raggedVote(column(), [1, 0], [0, 1])).toEqual({ shortEnd: 3, shortStart: 0 });
  });

  it('counts them short at their start on the column turned upside down', () => {
    expect(raggedVote(turned(column()), [1, 0], [0, 1])).toEqual({ shortEnd: 0, shortStart: 3 });
  });
});

/**
 * A white RGB page (600×400) with 12 text lines along x, each an x-height band (rows v−3…v+2) with
 * glyph strokes every 8 px: every third stroke an ascender (up to v−8), every seventh a descender
 * (down to v+7), as in Latin print; and the lines as the detector would report them.
 */
function printedPage(): { pixels: Uint8Array; lines: LineFit[] } {
  const W = 600;
  const H = 400;
  const pixels = new Uint8Array(W * H * 3).fill(235);
  const ink = (x: number, y: number) => pixels.fill(30, 3 * (y * W + x), 3 * (y * W + x) + 3);
  const lines: LineFit[] = [];
  for (let k = 0; k < 12; k++) {
    const v = 40 + 28 * k;
    for (let x = 50; x < 550; x++) {
      const stroke = Math.floor((x - 50) / 8);
      if ((x - 50) % 8 > 2) continue;
      const top = stroke % 3 === 0 ? v - 8 : v - 3;
      const bottom = stroke % 7 === 0 ? v + 7 : v + 2;
      for (let y = top; y <= bottom; y++) ink(x, y);
    }
    lines.push({ ...line(50, 550, v), line: { ...line(50, 550, v).line, height: 6 } });
  }
  return { pixels, lines };
}

/** The page turned by 180° (pixels and lines), as `turned` does for a column. */
function turnedPage({ pixels, lines }: { pixels: Uint8Array; lines: LineFit[] }): { pixels: Uint8Array; lines: LineFit[] } {
  const out = new Uint8Array(pixels.length);
  const n = pixels.length / 3;
  for (let p = 0; p < n; p++) out.set(pixels.subarray(3 * p, 3 * p + 3), 3 * (n - 1 - p));
  return { pixels: out, lines: lines.map((l) => ({ ...l, line: { ...l.line, points: l.line.points.map(([x, y]): [number, number] => [599 - x, 399 - y]).reverse() } })) };
}

describe('ascenderVote: the glyph shapes', () => {
  it('counts lines whose ink reaches farther above their x-height band than below as upright', () => {
    const { pixels, lines } = printedPage();
    expect(ascenderVote(lines, pixels, 600, 400)).toEqual({ up: 12, down: 0 });
  });

  it('counts them as upside down on the page turned by 180°', () => {
    const { pixels, lines } = turnedPage(printedPage());
    expect(ascenderVote(lines, pixels, 600, 400)).toEqual({ up: 0, down: 12 });
  });

  it('reads a dark, low-contrast copy alike, and skips lines without contrast', () => {
    const { pixels, lines } = printedPage();
    const dark = pixels.map((g) => Math.round(0.25 * g + 60));
    expect(ascenderVote(lines, dark, 600, 400)).toEqual({ up: 12, down: 0 });
    expect(ascenderVote(lines, new Uint8Array(pixels.length).fill(200), 600, 400)).toEqual({ up: 0, down: 0 });
  });
});

describe('decideFlip', () => {
  const upright = { shortEnd: 8, shortStart: 0 };
  const flipped = { shortEnd: 1, shortStart: 8 };
  const none = { shortEnd: 0, shortStart: 0 };
  /** Lines that lean neither way (no ascender vote). */
  const level = { up: 0, down: 0 };

  it('lets a sure classifier decide whatever the layout says', () => {
    expect(decideFlip(verdict(0.95), upright, level).flipped).toBe(true);
    expect(decideFlip(verdict(0.05), flipped, level).flipped).toBe(false);
  });

  it('lets a clear layout decide when the classifier guesses', () => {
    expect(decideFlip(verdict(0.65), upright, level)).toMatchObject({ flipped: false });
    expect(decideFlip(verdict(0.45), flipped, level)).toMatchObject({ flipped: true });
    expect(decideFlip(verdict(0.45), flipped, level).confidence).toBeGreaterThan(0.5);
  });

  it('lets a clear ascender vote decide before the layout when the classifier guesses', () => {
    // The 1853 Weekly Journal turned by 180°: the classifier guesses, its lines lean down 211 to
    // 87, its ragged edges say upright 28 to 6.
    expect(decideFlip(verdict(0.52), { shortEnd: 28, shortStart: 6 }, { up: 87, down: 211 })).toMatchObject({ flipped: true });
    expect(decideFlip(verdict(0.52), upright, { up: 9, down: 55 }).confidence).toBeCloseTo(46 / 64);
    // A sure classifier still decides; a vote within ascenderZ of a fair coin does not.
    expect(decideFlip(verdict(0.05), none, { up: 9, down: 55 }).flipped).toBe(false);
    expect(decideFlip(verdict(0.45), upright, { up: 17, down: 12 })).toMatchObject({ flipped: false });
    expect(decideFlip(verdict(0.45), flipped, { up: 17, down: 12 })).toMatchObject({ flipped: true });
  });

  it('falls back to the classifier, with its low confidence, when the layout is mixed or silent', () => {
    const mixed = decideFlip(verdict(0.45), { shortEnd: 3, shortStart: 3 }, level);
    expect(mixed.flipped).toBe(false);
    expect(mixed.confidence).toBeLessThan(0.1);
    expect(decideFlip(verdict(0.6), none, level)).toEqual({ flipped: true, confidence: verdict(0.6).confidence });
    // Too few votes to count: the classifier's verdict stands.
    expect(decideFlip(verdict(0.6), { shortEnd: 3, shortStart: 0 }, level).flipped).toBe(true);
  });
});

describe('profileAxis', () => {
  /** A map with text rows: 6 px of ink every 12 px, over one wide block (or its transpose). */
  function rows(transpose: boolean): Float32Array {
    const W = 200;
    const map = new Float32Array(W * W);
    for (let y = 20; y < 180; y++) for (let x = 30; x < 170; x++) if (y % 12 < 6) map[transpose ? x * W + y : y * W + x] = 1;
    return map;
  }

  it('tells lines along x from lines along y by their line-to-line modulation', () => {
    expect(profileAxis(rows(false), 200, 200)).toMatchObject({ axis: 0 });
    expect(profileAxis(rows(true), 200, 200)).toMatchObject({ axis: 90 });
    expect(profileAxis(rows(false), 200, 200).ratio).toBeGreaterThan(5);
  });
});

describe('the published orientation', () => {
  const rotate = (deg: number): TransformPlan => ({ kind: 'rotate', rotateDeg: deg, dewarp: false });

  it('does not turn a page whose orientation is unsure, and publishes 0 for it', () => {
    const weak = summary(180, ORIENTATION_GATE.minTurnConfidence / 2);
    expect(planFor(weak, cfg)).toBeUndefined();
    expect(publishedOrientation(weak, undefined, undefined, false)).toEqual({ deg: 0, confidence: 0 });
    const sure = summary(180, 0.9);
    expect(planFor(sure, cfg)).toMatchObject({ rotateDeg: 180 });
  });

  it('turns a page with a negligible skew by the quarter turn alone, and adds a skew it would correct on an upright page', () => {
    expect(planFor(summary(90, 0.9, 0.0014), cfg)).toEqual(rotate(90));
    expect(planFor(summary(270, 0.9, cfg.skewThresholdDeg / 2), cfg)).toEqual(rotate(270));
    expect(planFor(summary(90, 0.9, 2), cfg)).toEqual(rotate(92));
    expect(planFor(summary(0, 0.9, 2), cfg)).toEqual(rotate(2));
    expect(planFor({ ...summary(90, 0.9, 2), confidence: cfg.minConfidence / 2 }, cfg)).toEqual(rotate(90));
  });

  it('dewarps a page whose lines fan out (perspective), and keeps the dewarp only when they fan out less after it', () => {
    const fanned = { ...summary(0, 0.9, 0.1), fanDeg: 9 };
    const plan = planFor(fanned, cfg);
    expect(plan).toEqual({ kind: 'tps', rotateDeg: 0, dewarp: true });
    expect(planFor({ ...fanned, fanDeg: 0 }, cfg)).toBeUndefined();
    expect(confirms(fanned, { ...fanned, fanDeg: 0 }, plan!, cfg)).toBe(true);
    expect(confirms(fanned, fanned, plan!, cfg)).toBe(false);
  });

  it('confirms a turn only when the page reads upright once turned back', () => {
    const first = summary(180, 0.5);
    // Lines kept, tilt fine, but the classifier still reads it upside down: it guesses.
    expect(confirms(first, summary(180, 0.3), rotate(180), cfg)).toBe(false);
    // Turned by 91° and read as turned by 90° again: less tilt than before (90 < 91), still not confirmed.
    expect(confirms(summary(90, 0.9, 1), summary(90, 0.5), rotate(91), cfg)).toBe(false);
    expect(confirms(first, summary(0, 0.8), rotate(180), cfg)).toBe(true);
    // A second reading too weak to be evidence (the page's print blurred by the turn) neither
    // confirms nor vetoes: the first pass's turn stands, and its orientation is not in the tilt.
    expect(confirms(first, summary(180, ORIENTATION_GATE.minEvidenceConfidence / 2), rotate(180), cfg)).toBe(true);
    const skewed = summary(0, 0.9, 2);
    expect(confirms(skewed, summary(180, ORIENTATION_GATE.minEvidenceConfidence / 2, 0.1), rotate(2), cfg)).toBe(true);
    expect(confirms(skewed, summary(180, ORIENTATION_GATE.minEvidenceConfidence, 0.1), rotate(2), cfg)).toBe(false);
    expect(confirms(summary(90, 0.9), summary(0, 0.8), rotate(90), cfg)).toBe(true);
  });

  it('publishes what the second pass supports when it rejects a turn', () => {
    const first = summary(180, 0.5);
    // Turned back by 180° the page still reads 180: the original was upright.
    expect(publishedOrientation(first, summary(180, 0.6), rotate(180), false)).toEqual({ deg: 0, confidence: 0.6 });
    // Turned back the page reads upright: the first reading was right (something else failed the gate).
    expect(publishedOrientation(first, summary(0, 0.7), rotate(180), false)).toEqual({ deg: 180, confidence: 0.7 });
    // The second pass is unsure: 0, with confidence 0.
    expect(publishedOrientation(first, summary(90, 0.05), rotate(180), false)).toEqual({ deg: 0, confidence: 0 });
  });

  it('turns a page read sideways too unsure to turn by onto its axis alone, and leaves which way up it is to the pass after', () => {
    const { minTurnConfidence, minProbeEvidence } = ORIENTATION_GATE;
    const sideways = { ...summary(90, minTurnConfidence / 2, 0.7), curvaturePx: 2 * cfg.curvatureThresholdPx, fanDeg: 5 };
    expect(probesTurn(sideways)).toBe(true);
    // The quarter turn alone: the lines read across its glyphs say nothing sure of its skew or bend.
    expect(planFor(sideways, cfg)).toEqual(rotate(90));
    expect(planFor({ ...sideways, orientationDeg: 270 }, cfg)).toEqual(rotate(270));
    // A page with too few lines to read, unsure of itself, is turned too: a sideways page's small
    // print the detector misses; sure of itself (or with lines enough), it is left alone.
    const blind = { ...summary(0, minTurnConfidence / 2), textLines: 2 };
    expect(planFor(blind, cfg)).toEqual(rotate(90));
    expect(planFor({ ...blind, orientationDeg: 180 }, cfg)).toEqual(rotate(90));
    expect(planFor({ ...blind, orientationConfidence: 0.5 }, cfg)).toBeUndefined();
    expect(planFor({ ...blind, textLines: 3 }, cfg)).toBeUndefined();
    // A page the detector saw no text on at all (a blank page) is not worth a pass.
    expect(planFor({ ...blind, textLines: 0, textCoverage: 0 }, cfg)).toBeUndefined();
    // An unsure 180 is not probed (turned, the next pass would read the same lines), nor a sure turn.
    expect(probesTurn(summary(180, minTurnConfidence / 2))).toBe(false);
    expect(probesTurn(summary(90, minTurnConfidence))).toBe(false);
    // The pass after says which way up: along the lines (0 or 180), at least minProbeEvidence sure.
    expect(readsProbe(summary(0, minProbeEvidence))).toBe(true);
    expect(readsProbe(summary(180, 0.6))).toBe(true);
    expect(readsProbe(summary(0, (minTurnConfidence + minProbeEvidence) / 2))).toBe(false);
    expect(readsProbe(summary(270, 0.9))).toBe(false);
    // Without a pass after it (maxPasses 1), the unsure reading is not published.
    expect(publishedOrientation(sideways, undefined, undefined, false)).toEqual({ deg: 0, confidence: 0 });
  });

  describe('a probed page through the controller', () => {
    const controller = new TransformController(cfg);
    const first = { ...summary(270, ORIENTATION_GATE.minTurnConfidence / 2, 0.65), confidence: 0.1 };
    const probe = { first, plan: rotate(270) };
    /** The pass after the probe turn reading `second`. */
    const afterProbe = (second: PageSummary) => controller.decide({ ...summarised(second), pass: 2, correction: probe });
    const row = (decided: ReturnType<TransformController['decide']>) => {
      if (!isResult(decided)) throw new Error('expected the page to leave');
      return decided.record;
    };

    it('publishes the turn and the reading after it when that reading calls for nothing more', () => {
      const record = row(afterProbe({ ...summary(0, 0.5, 0.1), curvaturePx: 0.5 }));
      expect(record).toMatchObject({ orientation_deg: 270, orientation_confidence: 0.5, skew_deg: 0.1, curvature_px: 0.5, transform: 'rotate', rejected_transform: null, applied_rotation_deg: 270, passes: 2 });
    });

    it('turns a page it finds too few lines on, and publishes what the pass after reads', () => {
      // A sideways newspaper page whose small print the detector misses: 2 lines (column rules).
      const blind = { ...summary(0, 0.1, 0), textLines: 2 };
      const planned = controller.decide(summarised(blind));
      if (isResult(planned)) throw new Error('expected a plan');
      expect(planned.plan).toEqual(rotate(90));
      const probed = { first: blind, plan: planned.plan };
      const read = (second: PageSummary) => row(controller.decide({ ...summarised(second), pass: 2, correction: probed }));
      expect(read(summary(0, 0.6))).toMatchObject({ orientation_deg: 90, orientation_confidence: 0.6, transform: 'rotate', applied_rotation_deg: 90 });
      // Nothing to read that way either (a blank page): as it was, 0 with confidence 0.
      expect(read({ ...summary(0, 0), textLines: 0 })).toMatchObject({ orientation_deg: 0, orientation_confidence: 0, transform: 'none', rejected_transform: 'rotate' });
    });

    it('leaves the page as it was, publishing 0 (confidence 0), when the reading after the turn is unsure too', () => {
      const record = row(afterProbe(summary(0, ORIENTATION_GATE.minProbeEvidence / 2, 2.3)));
      expect(record).toMatchObject({ orientation_deg: 0, orientation_confidence: 0, skew_deg: 0.65, transform: 'none', rejected_transform: 'rotate', applied_rotation_deg: 0 });
      expect(record.error).toBe('turned by 270° to read which way up it is, and still unsure');
    });

    it('plans the correction the reading after the turn calls for, on top of the turn, and keeps the turn whatever the pass after that says', () => {
      // Read upside down and skewed once turned: turned 180° more and deskewed, on the turned frame.
      const second = summary(180, 0.6, 2.3);
      const planned = afterProbe(second);
      if (isResult(planned)) throw new Error('expected a plan');
      expect(planned.plan).toEqual(rotate(182.3));
      expect(planned.probe).toEqual(probe);
      const third = (reading: PageSummary) => controller.decide({ ...summarised(reading), pass: 3, probe, correction: { first: second, plan: planned.plan } });
      // Confirmed: both kept; the row reads the turned page's reading (its skew refined by the last
      // pass's residual), its rotation is both at once.
      expect(row(third(summary(0, 0.7, 0.05)))).toMatchObject({ orientation_deg: 90, orientation_confidence: 0.6, skew_deg: expect.closeTo(2.35, 9), transform: 'rotate', applied_rotation_deg: expect.closeTo(92.3, 9), passes: 3 });
      // Rejected (its lines lost): the turn stays, and the evidence of the last pass says which way up.
      expect(row(third({ ...summary(0, 0.7, 0.05), textLines: 2 }))).toMatchObject({ orientation_deg: 90, transform: 'rotate', rejected_transform: 'rotate', applied_rotation_deg: 270 });
    });
  });

  it('refines a rotated page\'s skew by the residual the pass after measures, when that reading is trusted', () => {
    const controller = new TransformController(cfg);
    // Turned by 270° with its 2.14° skew taken off; the pass after finds 0.15° left.
    const first = summary(270, 0.5, 2.14);
    const leave = (second: PageSummary, plan = rotate(272.14)) => {
      const decided = controller.decide({ ...summarised(second), pass: 2, correction: { first, plan } });
      if (!isResult(decided)) throw new Error('a second pass always leaves');
      return decided.record;
    };
    expect(leave({ ...summary(0, 0.6, 0.15), confidence: 0.95 })).toMatchObject({ skew_deg: expect.closeTo(2.29, 9), confidence: 0.95 });
    // A turn alone (its skew under the threshold): the pass after measures the skew itself.
    expect(leave({ ...summary(0, 0.6, 0.2), confidence: 0.95 }, rotate(270))).toMatchObject({ skew_deg: expect.closeTo(0.2, 9) });
    // An untrusted residual, or one read sideways, or after a dewarp: the first reading stands.
    expect(leave({ ...summary(0, 0.6, 0.15), confidence: cfg.minConfidence / 2 })).toMatchObject({ skew_deg: 2.14, confidence: 0.9 });
    expect(leave({ ...summary(90, 0.1, 0.15), confidence: 0.95 })).toMatchObject({ skew_deg: 2.14 });
    expect(leave({ ...summary(0, 0.6, 0.15), confidence: 0.95 }, { kind: 'tps', rotateDeg: 272.14, dewarp: true })).toMatchObject({ skew_deg: 2.14 });
  });

  it('puts the published orientation, its confidence and a note in the row of a rejected turn', () => {
    const controller = new TransformController(cfg);
    const first = summary(180, 0.5);
    // The second pass reads the turned-back page as upside down again and its lines are lost: rejected.
    const second = { ...summary(180, 0.6), textLines: 2 };
    const decided = controller.decide({ ...summarised(second), pass: 2, correction: { first, plan: rotate(180) } });
    if (!isResult(decided)) throw new Error('a second pass always leaves');
    const { record } = decided;
    expect(record).toMatchObject({ orientation_deg: 0, orientation_confidence: 0.6, rejected_transform: 'rotate' });
    expect(record.error).toMatch(/turn by 180° rejected/);
  });

  it('keeps the first reading and its confidence on a confirmed or uncorrected page', () => {
    const controller = new TransformController(cfg);
    const straight = summary(0, 0.8);
    const decided = controller.decide(summarised(straight));
    expect(isResult(decided) && decided.record).toMatchObject({ orientation_deg: 0, orientation_confidence: 0.8 });
  });
});

/** A first-pass page with `summary`, on a small blank frame. */
function summarised(summary: PageSummary): SummarisedPage {
  const frame: DecodedFrame = { width: 10, height: 10, channels: 3, pixels: new Uint8Array(300), sourceWidth: 10, sourceHeight: 10, patches: { size: 0, stride: 0, cols: 0, rows: 0, count: 0, data: new Uint8Array(0) } };
  return { ...pageWork({ volumeId: 'v', key: 'k', etag: '', size: 1, seq: 0 }), state: 'summarised', frame, summary };
}
