import { exitLoop, reenterLoop, type LoopStep } from '../../operators';
import type { ContentSettings } from '../config';
import { correctionColumns, turnedRotation, type AppliedCorrection } from '../correct/columns';
import type { DecodedPage, FailedPage, PlannedPage, SummarisedPage, UncorrectedPage } from '../page';
import type { PageSummary, TransformKind, TransformPlan, VolumeRecord } from '../types';

/** The thresholds the controller decides with (content settings). */
export type ControllerConfig = Pick<ContentSettings, 'skewThresholdDeg' | 'curvatureThresholdPx' | 'minConfidence' | 'maxPasses'>;

/** A page's total tilt (orientation + skew) as a signed angle in (−180°, 180°]. */
export function tiltDeg(summary: PageSummary): number {
  const t = (((summary.orientationDeg + summary.skewDeg) % 360) + 360) % 360;
  return t > 180 ? t - 360 : t;
}

/** Whether a page's lines are bent enough (median curvature over its threshold) to be dewarped. */
const curled = (summary: PageSummary, cfg: ControllerConfig) => summary.curvaturePx >= cfg.curvatureThresholdPx;

/** Fewer text lines than this tell nothing of a page's geometry: its lines may run where the detector cannot see them (a sideways page's small print). */
const MIN_TEXT_LINES = 3;

/**
 * The correction a first-pass summary calls for, or undefined when the page is fine as it is. A
 * probe turn (`probesTurn`) is a quarter turn alone (by the reading's 90 or 270; 90 on a page with
 * too few lines to read): lines read across a sideways page's glyphs say nothing sure of its skew
 * or bend; the pass after the turn reads them, and plans their correction. Otherwise nothing is
 * corrected on a page with fewer than 3 text lines. A turned page (orientation ≠ 0) is rotated
 * (`turnToCorrect`); a skew over its threshold only when the lines agree on it (`confidence ≥
 * minConfidence`). A skew left alone is left out of a turn too: a turned page with a negligible
 * skew is turned pixel for pixel, not resampled. A median line curvature over its threshold, or
 * lines that fan out (`fanDeg`), is dewarped (the quality gate checks the result). Rotation comes
 * first; a curled or fanned page is then dewarped with a thin-plate spline.
 */
export function planFor(summary: PageSummary, cfg: ControllerConfig): TransformPlan | undefined {
  if (probesTurn(summary)) return { kind: 'rotate', rotateDeg: summary.orientationDeg === 270 ? 270 : 90, dewarp: false };
  if (summary.textLines < MIN_TEXT_LINES) return undefined; // too little text to tell anything by
  const trusted = summary.confidence >= cfg.minConfidence;
  const turn = turnToCorrect(summary);
  const deskew = trusted && Math.abs(summary.skewDeg) >= cfg.skewThresholdDeg;
  const rotate = turn !== 0 || deskew;
  // Curl does not need the lines to agree on one angle (a photographed page's lines fan out);
  // lines that fan out (perspective) are dewarped too: the spline takes each onto a level line.
  const dewarp = curled(summary, cfg) || (summary.fanDeg ?? 0) > 0;
  if (!rotate && !dewarp) return undefined;
  const rotateDeg = turn + (deskew ? summary.skewDeg : 0);
  return { kind: dewarp ? 'tps' : 'rotate', rotateDeg, dewarp };
}

/**
 * The controller's orientation tuning: a page is turned on its first reading only when its
 * orientation confidence is at least `minTurnConfidence` (a summary without one, from a
 * summarizer that does not measure it, is trusted); a second pass's reading counts as evidence
 * about the original from `minEvidenceConfidence` up, and as the evidence that decides a probe
 * turn's direction (`probesTurn`) from `minProbeEvidence` up (above the 0.28 a wrong axis reached
 * on the dev set).
 */
export const ORIENTATION_GATE = { minTurnConfidence: 0.2, minEvidenceConfidence: 0.2, minProbeEvidence: 0.3 };

/** Whether the first pass is sure enough of a page's orientation to turn it by its reading alone (or leave it). */
const sureTurn = (summary: PageSummary) => (summary.orientationConfidence ?? 1) >= ORIENTATION_GATE.minTurnConfidence;

/**
 * Whether the page is turned by a quarter to let the pass after decide which way up it is: a page
 * unsure of its orientation that reads sideways (90 or 270), or has too few lines to read at all
 * though the detector saw some text (a blank page is left alone).
 * A sideways page's lines run across the frame, where the detector breaks them into glyph-sized
 * pieces, or misses small print altogether, and the direction classifier has little to read;
 * turned onto its axis, the pass after reads whole lines, and says which way up. (An unsure 180
 * with lines enough is not probed: turned, the pass after would read the same lines.)
 */
export function probesTurn(summary: PageSummary): boolean {
  const sideways = summary.orientationDeg === 90 || summary.orientationDeg === 270;
  // A page the detector finds no text on at all (a blank page) is not worth a pass.
  const blind = summary.textLines < MIN_TEXT_LINES && summary.textCoverage > 0;
  return !sureTurn(summary) && (sideways || blind);
}

/** The turn a correction applies: the read orientation when it is confident enough, else none. */
export function turnToCorrect(summary: PageSummary): number {
  return sureTurn(summary) ? summary.orientationDeg : 0;
}

/**
 * The orientation a page publishes, and how sure it is. A first-pass reading stands unless a turn
 * was tried and the quality gate rejected it: then the second pass, which read the page turned
 * back by the first reading o₁, is the evidence: its own reading o₂ (when at least
 * `minEvidenceConfidence` sure) means the original was turned by o₁ + o₂ (o₂ = 180 after a 180°
 * turn: upright after all; o₂ = 0: the turn was right and something else failed the gate);
 * without sure evidence the page publishes 0 with confidence 0. A reading too unsure to turn by is
 * not published either (0, confidence 0). (A probed page's orientation is its probe's turn plus
 * what this says of the turned page: see `TransformController.decide`.)
 */
export function publishedOrientation(first: PageSummary, second: PageSummary | undefined, plan: TransformPlan | undefined, confirmed: boolean): { deg: number; confidence: number | null } {
  const turned = turnToCorrect(first);
  if (!plan || !second || confirmed || turned === 0) {
    // A weak reading no second pass supports is not published: the evidence does not say it.
    const unsupported = first.orientationDeg !== 0 && !sureTurn(first);
    return unsupported ? { deg: 0, confidence: 0 } : { deg: first.orientationDeg, confidence: first.orientationConfidence ?? null };
  }
  const evidence = second.orientationConfidence ?? 0;
  if (evidence < ORIENTATION_GATE.minEvidenceConfidence) return { deg: 0, confidence: 0 };
  return { deg: (turned + second.orientationDeg) % 360, confidence: evidence };
}

/**
 * The quality gate: the second pass must confirm the correction. A turned page must not read
 * turned again on the second pass (a reading of at least `minEvidenceConfidence`; a weaker one is
 * no evidence either way: the first pass's turn stands, and the reading's orientation is left out of
 * the tilt); the page must have kept at least half of its text lines, its tilt must have shrunk (or
 * be under the skew threshold), and a dewarp must have made the lines straighter (a curled page) or
 * fan out less (a page dewarped for its perspective alone). (A probe turn's second pass is judged
 * by `readsProbe` instead.)
 */
export function confirms(first: PageSummary, second: PageSummary, plan: TransformPlan, cfg: ControllerConfig): boolean {
  // A turned page must read upright once turned back: a page the classifier reads upside down
  // both ways (it guesses) is not turned.
  const readsTurned = second.orientationDeg !== 0 && (second.orientationConfidence ?? 1) >= ORIENTATION_GATE.minEvidenceConfidence;
  if (turnToCorrect(first) !== 0 && readsTurned) return false;
  const linesKept = second.textLines >= 0.5 * first.textLines;
  const residual = Math.abs(readsTurned ? tiltDeg(second) : second.skewDeg);
  const tiltOk = residual < cfg.skewThresholdDeg || residual < Math.abs(tiltDeg(first));
  const straighter = !plan.dewarp || (curled(first, cfg) ? second.curvaturePx < first.curvaturePx : (second.fanDeg ?? 0) < (first.fanDeg ?? 0));
  return linesKept && tiltOk && straighter;
}

/**
 * Whether a probe turn's second pass says which way up the page is: it reads the turned page along
 * its lines (upright or upside down, not sideways again) at least `minProbeEvidence` sure.
 */
export function readsProbe(second: PageSummary): boolean {
  return second.orientationDeg % 180 === 0 && (second.orientationConfidence ?? 1) >= ORIENTATION_GATE.minProbeEvidence;
}

/**
 * The skew of a page whose rotation the pass after confirmed, refined by that pass: what the
 * rotation took off the reading (its part beyond the turn) plus the residual the pass after
 * measured on the rotated page, with that pass's confidence — when that reading is trusted
 * (`minConfidence`) and along the page's lines (not sideways). Undefined otherwise, and after a
 * dewarp (the spline levels the lines: no residual is left to tell the page's skew by).
 */
export function refinedSkew(first: PageSummary, second: PageSummary, plan: TransformPlan, cfg: ControllerConfig): { deg: number; confidence: number } | undefined {
  if (plan.dewarp || second.orientationDeg % 180 !== 0 || second.confidence < cfg.minConfidence) return undefined;
  return { deg: plan.rotateDeg - turnToCorrect(first) + second.skewDeg, confidence: second.confidence };
}

/** A page leaving the loop: its row, the summaries behind it and the correction it kept (for reports and inspection). */
export interface PageResult {
  record: VolumeRecord;
  /** The first pass's summary, on the original (absent for pages that never reached the model). */
  first?: PageSummary;
  /** The summary of the geometry the page ends with. */
  final?: PageSummary;
  /** The correction the page kept, as applied to the original (absent when it keeps its original geometry). */
  applied?: TransformPlan;
}

/** How a page leaves the loop. */
interface Outcome {
  /** The correction kept: the latest pass's plan's kind, a probe turn's (`keptOf`), or none. */
  transform: TransformKind;
  rejected: TransformKind | null;
  /** The summary whose geometry the page ends with. */
  final?: PageSummary;
  note?: string;
  /** The orientation published, when not the reading's (see `publishedOrientation`). */
  orientation?: { deg: number; confidence: number | null };
  /** The skew published, when not the reading's (see `refinedSkew`). */
  skew?: { deg: number; confidence: number };
}

/** The states a page leaves the loop in. */
export type LeavingPage = SummarisedPage | UncorrectedPage | FailedPage;

/**
 * The summary a leaving page's row reads its skew, orientation and curvature from (undefined when
 * it never reached the model): its first pass's, or on a probed page the pass that read it turned
 * onto its axis.
 */
function readingOf(page: LeavingPage): PageSummary | undefined {
  if (page.state === 'failed') return undefined;
  return page.state === 'summarised' ? page.correction?.first ?? page.summary : page.summary;
}

/** What a page keeps when its latest correction is not kept: its probe turn, or its original geometry. */
const keptOf = (page: LeavingPage): TransformKind => page.probe?.plan.kind ?? 'none';

/**
 * The correction a leaving page keeps, with the quarter turn of a probe under it (`turnedBy`, 0
 * when none): the plan and the summary it was made on, and the size of the frame it made.
 */
function keptCorrection(page: LeavingPage, outcome: Outcome): (AppliedCorrection & { turnedBy: number }) | undefined {
  if (outcome.transform === 'none' || page.state === 'failed') return undefined;
  const latest = page.state === 'summarised' && !outcome.rejected ? page.correction : undefined;
  if (latest) return { ...latest, corrected: page.frame, turnedBy: page.probe?.plan.rotateDeg ?? 0 };
  // The probe turn alone: it made the frame the reading after it was measured on.
  const reading = readingOf(page);
  return page.probe && reading && { ...page.probe, corrected: reading, turnedBy: 0 };
}

/** The result of a page leaving the loop. */
export function resultOf(page: LeavingPage, outcome: Outcome): PageResult {
  const kept = keptCorrection(page, outcome);
  const first = page.probe?.first ?? readingOf(page);
  const applied = kept && { ...kept.plan, rotateDeg: turnedRotation(kept.turnedBy, kept.plan.rotateDeg) };
  return { record: recordOf(page, outcome, performance.now(), kept), first, final: outcome.final, ...(applied ? { applied } : {}) };
}

/** The Parquet row for a page leaving the loop (`kept`: the correction it keeps, when already worked out). */
export function recordOf(page: LeavingPage, outcome: Outcome, now = performance.now(), kept = keptCorrection(page, outcome)): VolumeRecord {
  const { task, timings } = page;
  const error = page.state === 'failed' ? page : undefined;
  const frame = page.state === 'failed' ? undefined : page.frame;
  const reading = readingOf(page);
  const final = outcome.final;
  const orientation = outcome.orientation ?? (reading && { deg: reading.orientationDeg, confidence: reading.orientationConfidence ?? null });
  const turnedBy = page.probe?.plan.rotateDeg ?? 0;
  return {
    volume_id: task.volumeId,
    seq: task.seq,
    key: task.key,
    etag: task.etag,
    status: error ? 'error' : 'ok',
    error: error ? error.error : [outcome.note, page.note].filter(Boolean).join('; ') || null,
    error_kind: error ? error.errorKind : null,
    width: frame?.sourceWidth ?? null,
    height: frame?.sourceHeight ?? null,
    orientation_deg: orientation ? (turnedBy + orientation.deg) % 360 : null,
    orientation_confidence: orientation?.confidence ?? null,
    skew_deg: outcome.skew?.deg ?? reading?.skewDeg ?? null,
    confidence: outcome.skew?.confidence ?? reading?.confidence ?? null,
    transform: outcome.transform,
    rejected_transform: outcome.rejected,
    residual_skew_deg: final ? tiltDeg(final) : null,
    curvature_px: reading?.curvaturePx ?? null,
    residual_curvature_px: final?.curvaturePx ?? null,
    text_lines: final?.textLines ?? null,
    text_coverage: final?.textCoverage ?? null,
    passes: reading ? page.pass : 0,
    fetch_ms: timings.fetchMs,
    decode_ms: timings.decodeMs,
    infer_ms: timings.inferMs,
    transform_ms: timings.transformMs,
    total_ms: now - page.enteredAt,
    ...correctionColumns(frame && { width: frame.sourceWidth, height: frame.sourceHeight }, kept && reading && frame ? kept : null, kept?.turnedBy),
    image_key: null,
  };
}

/** Whether the controller's decision is the page's result (it leaves) rather than a plan. */
export function isResult(decided: PageResult | PlannedPage): decided is PageResult {
  return !('state' in decided);
}

/**
 * The controller's rules: reads each page's summary and decides where it goes next (`decide`):
 * out of the loop with its result, or, with a correction plan, to the Transformer (rotate /
 * thin-plate-spline dewarp) and back in through the reprocess lane for a second pass, whose summary
 * the quality gate then checks (`decide` again). `loopStep` turns what comes back from the
 * Transformer into the loop's step. volumeRecords wires them:
 *
 * ```
 * summaries:  -s1(straight)--s1(skewed)---------------s2(confirmed)--|
 * decide:     -exit(R none)--plan ⇢ transform ⇢ reenter--exit(R rotate)-|
 * ```
 *
 * Every page leaves exactly once: failed pages leave as error rows; a page whose correction fails
 * or is not confirmed leaves with its original geometry (`transform: 'none'`, the attempt in
 * `rejected_transform`). A page is corrected at most once (`maxPasses` 2; 1 turns corrections off),
 * except a page unsure of its orientation that reads sideways or shows too few lines
 * (`probesTurn`): it is turned by a quarter first, and its second pass, when it says which way up
 * the page is (`readsProbe`), is read as a first pass of the turned page: it may plan a correction
 * of its own (a third pass), on top of the turn, which the page keeps whatever the third pass says:
 *
 * ```
 * summaries:  -s1(sideways, unsure)---------------s2(upside down)-----------------s3(confirmed)--|
 * decide:     -plan(90°) ⇢ transform ⇢ reenter----plan(180° + skew) ⇢ … reenter----exit(R 270°)-|
 * ```
 */
export class TransformController {
  constructor(private readonly cfg: ControllerConfig) {
    if (cfg.maxPasses !== 1 && cfg.maxPasses !== 2) throw new Error(`config.maxPasses must be 1 or 2, got ${cfg.maxPasses}`);
  }

  /** The page's result, or (a pass that calls for a correction) the page with its plan. A pure function of the page. */
  decide(page: SummarisedPage | FailedPage): PageResult | PlannedPage {
    if (page.state === 'failed') return resultOf(page, { transform: 'none', rejected: null });
    const { summary, correction } = page;
    if (!correction) {
      const plan = this.cfg.maxPasses > 1 ? planFor(summary, this.cfg) : undefined;
      if (plan) return { ...page, state: 'planned', plan };
      return resultOf(page, { transform: keptOf(page), rejected: null, final: summary, orientation: publishedOrientation(summary, undefined, undefined, false) });
    }
    const { first, plan } = correction;
    if (probesTurn(first) && !page.probe) {
      // Turned onto its axis, the page was read along its lines: a first reading of the turned page.
      if (readsProbe(summary)) return this.decide({ ...page, correction: undefined, probe: correction });
      const note = `turned by ${plan.rotateDeg}° to read which way up it is, and still unsure`;
      return resultOf(page, { transform: 'none', rejected: plan.kind, final: first, orientation: { deg: 0, confidence: 0 }, note });
    }
    if (confirms(first, summary, plan, this.cfg)) {
      return resultOf(page, { transform: plan.kind, rejected: null, final: summary, orientation: publishedOrientation(first, summary, plan, true), skew: refinedSkew(first, summary, plan, this.cfg) });
    }
    const orientation = publishedOrientation(first, summary, plan, false);
    const note = orientation.deg !== first.orientationDeg ? `turn by ${first.orientationDeg}° rejected by the second pass; orientation ${orientation.deg}° published (confidence ${(orientation.confidence ?? 0).toFixed(2)})` : undefined;
    return resultOf(page, { transform: keptOf(page), rejected: plan.kind, final: first, orientation, note });
  }

  /** A decided page after the Transformer: a result exits, a corrected page re-enters, an uncorrectable one exits as it was. */
  loopStep(page: PageResult | DecodedPage | UncorrectedPage): LoopStep<DecodedPage, PageResult> {
    if (!('state' in page)) return exitLoop(page);
    if (page.state === 'decoded') return reenterLoop(page);
    const orientation = publishedOrientation(page.summary, undefined, undefined, false);
    return exitLoop(resultOf(page, { transform: keptOf(page), rejected: page.plan.kind, final: page.summary, orientation, note: page.reason }));
  }
}
