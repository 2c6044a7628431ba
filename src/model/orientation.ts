import type { PageSummary } from '../types';
import { ascenderVote, type AscenderVote } from './ascenders';
import { CLS_CROP_FLOATS, CROPS_PER_LINE, lineCrops, writeTurned } from './lineCrops';
import { estimateSkew, reverseLine, skewedFrame, type LineFit, type PageGeometry } from './textlines';

/** Lines sampled per page, and lines in the first round. */
const MAX_LINES = 10;
const FIRST_ROUND_LINES = 4;

/**
 * The orientation decision's tuning (one place):
 * - `decisive`: how far from ½ the first round's weighted mean P(180) must be to decide alone;
 * - `flipAbove`: the weighted mean P(180) above which the page reads upside down. On the dev set
 *   (spec/fixtures/devset) upright pages read ≤ 0.40 and turned ones ≥ 0.59 at analysis size,
 *   with one blackletter page (Fleming 1719) read 0.60–0.66 both ways by its crops alone, and
 *   0.43–0.61 either way with each crop's 180° turn read too (`directionCrops`): a vote near ½
 *   comes with a low confidence, and the second pass (the page turned back must read upright)
 *   catches such a page;
 * - `fullConfidenceCrops`: crops needed for full confidence (fewer scale it down).
 * (Each crop's contrast normalisation is CROP_CONTRAST, in lineCrops.ts.)
 */
export const ORIENTATION = {
  decisive: 0.3,
  flipAbove: 0.5,
  /** The classifier alone decides when its weighted mean P(180) is below `sureBelow` or above `sureAbove`. */
  sureBelow: 0.3,
  sureAbove: 0.7,
  /**
   * The ascender vote (`ascenderVote`) decides when one side leads by at least `ascenderZ` standard
   * deviations of a fair coin over its lines ((a − b) / √(a + b)). On the dev set every page with
   * 20 or more voting lines leaned the right way (60–100 % of its lines, z 0.9–7.2), the
   * 3-line pages of a newspaper turned by 90° (its lines broken into blobs) either way.
   */
  ascenderZ: 2.5,
  /** Ragged-edge votes needed, and the share of them one side must have, for the layout to decide. */
  minRaggedVotes: 6,
  raggedShare: 0.8,
  /** A line is short at one end when it stops this many line heights before its neighbours' edge. */
  raggedHeights: 4,
  /** ... and aligned at the other end within this many line heights. */
  alignedHeights: 1.2,
  fullConfidenceCrops: 9,
};

/** Runs the classifier on `count` crops (CHW, consecutive) and returns their softmax [count, 2]. */
export type CropClassifier = (data: Float32Array, count: number) => Promise<Float32Array>;

/** What the direction classifier says about a page's lines. */
export interface OrientationVerdict {
  /** Whether the lines read upside down (weighted mean P(180) above ORIENTATION.flipAbove). */
  flipped: boolean;
  /**
   * How sure (0..1): the weighted mean P(180)'s distance from the flip threshold, as a share of the
   * way to 0 or 1, scaled down when fewer than ORIENTATION.fullConfidenceCrops crops voted. 0 with
   * no lines.
   */
  confidence: number;
  /** The weighted mean P(180) of the crops (½ with none). */
  p180: number;
  /** Crops classified. */
  crops: number;
}

/**
 * A line's vote weight: its length (longer lines give the classifier more text) times how straight
 * and even it is (a bowed fragment or one much thicker than the page's typical line — a headline,
 * a figure's edge — counts less).
 */
function lineWeight(l: LineFit, typicalHeight: number): number {
  const straight = 1 / (1 + l.line.curvaturePx / Math.max(1, l.line.height));
  const even = Math.min(1, typicalHeight / Math.max(1e-6, l.line.height), l.line.height / Math.max(1e-6, typicalHeight));
  return Math.sqrt(l.length) * straight * (0.25 + 0.75 * even);
}

/** A page's crops for the classifier: two rounds, the first round's first, and each crop's vote weight. */
export interface DirectionCrops {
  /**
   * The classifier's inputs (CHW float32, CLS_CROP_FLOATS each), consecutive, in round order: the
   * first round's crops; then their 180° turns, the other crops and the other crops' turns.
   */
  data: Float32Array;
  /** Inputs of the first round (the FIRST_ROUND_LINES longest lines' crops) and of the second (the rest). */
  rounds: [number, number];
  /** Each crop's vote weight (`lineWeight` of its line), one per crop (a crop and its turn vote once). */
  weights: number[];
}

/** Where crop `i`'s input and its turn's are in `DirectionCrops.data` (`first` crops in the first round, `total` crops). */
const plainInput = (i: number, first: number) => (i < first ? i : first + i);
const turnedInput = (i: number, first: number, total: number) => (i < first ? first + i : total + i);

/**
 * The crops of a page's longest lines (at most MAX_LINES), cut and contrast-normalised
 * (`lineCrops`) on the analysis thread, for the classifier to score in up to two rounds: the first
 * round reads the FIRST_ROUND_LINES longest lines' crops as cut; when that leaves the page open,
 * the second reads those crops turned by 180° (`writeTurned`) and the other lines' crops both ways,
 * and each crop's P(180) is then the mean of its own P(180) and its turn's P(0): a classifier that
 * reads a script as upside down both ways (blackletter, tiny print at analysis size) cancels out
 * instead of deciding. A page the first round decides costs no more than without the turns.
 */
export function directionCrops(lines: LineFit[], pixels: Uint8Array, width: number, height: number): DirectionCrops {
  const longest = [...lines].sort((a, b) => b.length - a.length).slice(0, MAX_LINES);
  const heights = longest.map((l) => l.line.height).sort((a, b) => a - b);
  const typical = heights.length ? heights[heights.length >> 1] : 1;
  const first = Math.min(FIRST_ROUND_LINES, longest.length);
  const crops = lineCrops(longest, pixels, width, height);
  const firstCrops = first * CROPS_PER_LINE;
  const data = new Float32Array(2 * crops.data.length);
  for (let i = 0; i < crops.count; i++) {
    data.set(crops.data.subarray(i * CLS_CROP_FLOATS, (i + 1) * CLS_CROP_FLOATS), plainInput(i, firstCrops) * CLS_CROP_FLOATS);
    writeTurned(crops, i, data, turnedInput(i, firstCrops, crops.count));
  }
  const weights = longest.flatMap((l) => Array<number>(CROPS_PER_LINE).fill(lineWeight(l, typical)));
  return { data, rounds: crops.count ? [firstCrops, 2 * crops.count - firstCrops] : [0, 0], weights };
}

/**
 * The weighted sum of P(180) and of the weights over the crops `softmax` scores (the inputs of the
 * first round, or of both): a crop's P(180) alone, or, with its turn scored too, the mean of its
 * P(180) and its turn's P(0).
 */
function tally(crops: DirectionCrops, softmax: Float32Array): { p180: number; weight: number; count: number } {
  const scored = softmax.length >> 1;
  const total = crops.weights.length;
  const first = crops.rounds[0];
  let p180 = 0;
  let weight = 0;
  let count = 0;
  for (let i = 0; i < total; i++) {
    const plain = plainInput(i, first);
    if (plain >= scored) continue;
    const turned = turnedInput(i, first, total);
    const p = turned < scored ? (softmax[2 * plain + 1] + softmax[2 * turned]) / 2 : softmax[2 * plain + 1];
    p180 += crops.weights[i] * p;
    weight += crops.weights[i];
    count++;
  }
  return { p180, weight, count };
}

/** Whether the first round's scores leave the page open, so its second round's crops are scored too. */
export function secondRound(crops: DirectionCrops, firstRound: Float32Array): boolean {
  if (crops.rounds[1] === 0) return false;
  const { p180, weight } = tally(crops, firstRound);
  return !(Math.abs(p180 / weight - 0.5) >= ORIENTATION.decisive);
}

/**
 * Whether the page's longest lines read upside down, and how sure that is, from the scores of the
 * crops classified (the first round's, or both rounds'): their P(180), weighted by line quality
 * (`lineWeight`) and averaged; upside down above ORIENTATION.flipAbove.
 */
export function verdictOf(crops: DirectionCrops, softmax: Float32Array): OrientationVerdict {
  const { p180, weight, count } = tally(crops, softmax);
  if (count === 0 || weight === 0) return { flipped: false, confidence: 0, p180: 0.5, crops: 0 };
  const mean = p180 / weight;
  const flipped = mean > ORIENTATION.flipAbove;
  const margin = flipped ? (mean - ORIENTATION.flipAbove) / (1 - ORIENTATION.flipAbove) : (ORIENTATION.flipAbove - mean) / ORIENTATION.flipAbove;
  const confidence = Math.max(0, Math.min(1, margin)) * Math.min(1, count / ORIENTATION.fullConfidenceCrops);
  return { flipped, confidence, p180: mean, crops: count };
}

/**
 * The classifier run in one thread, page by page (the pipeline batches the crops of many pages on
 * the inference threads instead; both score alike): the first round's crops, then the second's
 * when the first leaves the page open. Returns the scores of the crops classified.
 */
export async function classifyRounds(crops: DirectionCrops, classify: CropClassifier): Promise<Float32Array> {
  const [first, second] = crops.rounds;
  if (first === 0) return new Float32Array(0);
  const scores = (await classify(crops.data.subarray(0, first * CLS_CROP_FLOATS), first)).subarray(0, 2 * first);
  if (!secondRound(crops, scores)) return scores;
  const more = await classify(crops.data.subarray(first * CLS_CROP_FLOATS, (first + second) * CLS_CROP_FLOATS), second);
  const both = new Float32Array(2 * (first + second));
  both.set(scores);
  both.set(more.subarray(0, 2 * second), 2 * first);
  return both;
}

/** Whether the page's longest lines read upside down, and how sure that is (`verdictOf` the crops `classifyRounds` scores). */
export async function readsUpsideDown(lines: LineFit[], pixels: Uint8Array, width: number, height: number, classify: CropClassifier): Promise<OrientationVerdict> {
  const crops = directionCrops(lines, pixels, width, height);
  return verdictOf(crops, await classifyRounds(crops, classify));
}

/** What the classifier stage needs to decide a page's 0-or-180: its crops, the paragraph layout's vote and the lines' ascender vote. */
export interface DirectionRequest {
  crops: DirectionCrops;
  vote: RaggedVote;
  ascenders: AscenderVote;
}

/** The direction request of a page's geometry (on the analysis thread): its longest lines' crops, the layout vote in its skewed frame, and the ascender vote of its lines. */
export function directionRequest(geometry: PageGeometry, pixels: Uint8Array, width: number, height: number): DirectionRequest {
  const { e, n } = skewedFrame(geometry.baseOrientation, estimateSkew(geometry.lines).skewDeg);
  return { crops: directionCrops(geometry.fragments, pixels, width, height), vote: raggedVote(geometry.fragments, e, n), ascenders: ascenderVote(geometry.lines, pixels, width, height) };
}

/**
 * The orientation decision (pure): the page as read upright in its base orientation (`upright`,
 * from `summarizeGeometry(…, false)`), turned by 180° when the classifier's scores and the layout
 * say so (`decideFlip`); its orientation confidence is the lesser of the line direction's and the
 * decision's.
 */
export function orientPage(upright: PageSummary, request: DirectionRequest, softmax: Float32Array): PageSummary {
  const decided = decideFlip(verdictOf(request.crops, softmax), request.vote, request.ascenders);
  const orientationConfidence = Math.min(upright.orientationConfidence ?? 0, decided.confidence);
  if (!decided.flipped) return { ...upright, orientationConfidence };
  const orientationDeg = ((upright.orientationDeg + 180) % 360) as PageSummary['orientationDeg'];
  return { ...upright, orientationDeg, orientationConfidence, lines: upright.lines.map(reverseLine) };
}

/** Votes of the paragraph layout: lines short at their end (upright) and short at their start (upside down). */
export interface RaggedVote {
  /** Lines aligned at their start and stopping short of their neighbours' end (a paragraph's last line). */
  shortEnd: number;
  /** Lines aligned at their end and starting late (what a last line looks like upside down). */
  shortStart: number;
}

/**
 * The paragraph-layout cue, which needs no legible glyphs (a newspaper or a small blackletter
 * page at analysis size, where the classifier guesses): in left-to-right text the last line of a
 * paragraph starts where its neighbours start and stops short of where they end; upside down it is
 * the other way round. `lines` are measured in the base frame `e` (their points in reading
 * direction of the base orientation); a line counts when at least two longer lines within five
 * line heights overlap it by half its length, and a first-line indent (a few heights) is too short
 * to count as a short start (ORIENTATION.raggedHeights).
 */
export function raggedVote(lines: LineFit[], e: [number, number], n: [number, number]): RaggedVote {
  const spans = lines.map((l) => {
    const us = l.line.points.map(([x, y]) => x * e[0] + y * e[1]);
    const vs = l.line.points.map(([x, y]) => x * n[0] + y * n[1]);
    return { u0: Math.min(...us), u1: Math.max(...us), v: vs.reduce((a, b) => a + b, 0) / vs.length, h: l.line.height };
  });
  const vote = { shortEnd: 0, shortStart: 0 };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  for (const f of spans) {
    const len = f.u1 - f.u0;
    const near = spans.filter((g) => g !== f && Math.abs(g.v - f.v) <= 5 * f.h && g.u1 - g.u0 >= len && Math.min(f.u1, g.u1) - Math.max(f.u0, g.u0) >= 0.5 * len);
    if (near.length < 2) continue;
    const left = median(near.map((g) => g.u0));
    const right = median(near.map((g) => g.u1));
    const h = f.h;
    const startAligned = Math.abs(f.u0 - left) <= ORIENTATION.alignedHeights * h;
    const endAligned = Math.abs(f.u1 - right) <= ORIENTATION.alignedHeights * h;
    if (startAligned && right - f.u1 >= ORIENTATION.raggedHeights * h) vote.shortEnd++;
    else if (endAligned && f.u0 - left >= ORIENTATION.raggedHeights * h) vote.shortStart++;
  }
  return vote;
}

/**
 * The page's 0-or-180 decision from the classifier's verdict, the lines' ascender vote and the
 * paragraph layout: a sure classifier (mean P(180) outside [sureBelow, sureAbove]) decides;
 * otherwise a clear ascender vote (one side ahead by ascenderZ) decides, with a confidence of its
 * margin (the leading side's share, from ½ to 1, as 0 to 1); otherwise a clear layout vote (at
 * least minRaggedVotes, raggedShare of them on one side) decides, with a confidence of its margin;
 * otherwise the classifier's own verdict stands (upright unless P(180) > flipAbove), with its low
 * confidence.
 */
export function decideFlip(verdict: OrientationVerdict, vote: RaggedVote, ascenders: AscenderVote): { flipped: boolean; confidence: number } {
  if (verdict.crops > 0 && (verdict.p180 < ORIENTATION.sureBelow || verdict.p180 > ORIENTATION.sureAbove)) return { flipped: verdict.flipped, confidence: verdict.confidence };
  const leaning = ascenders.up + ascenders.down;
  if (leaning > 0 && Math.abs(ascenders.up - ascenders.down) / Math.sqrt(leaning) >= ORIENTATION.ascenderZ)
    return { flipped: ascenders.down > ascenders.up, confidence: Math.abs(ascenders.up - ascenders.down) / leaning };
  const votes = vote.shortEnd + vote.shortStart;
  if (votes >= ORIENTATION.minRaggedVotes) {
    const share = Math.max(vote.shortEnd, vote.shortStart) / votes;
    if (share >= ORIENTATION.raggedShare) {
      const confidence = ((share - 0.5) / 0.5) * Math.min(1, votes / (2 * ORIENTATION.minRaggedVotes));
      return { flipped: vote.shortStart > vote.shortEnd, confidence };
    }
  }
  return { flipped: verdict.flipped, confidence: verdict.confidence };
}
