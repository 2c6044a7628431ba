import { exitLoop, reenterLoop, type LoopStep } from '../../operators';
import type { ContentSettings } from '../config';
import { correctionColumns } from '../correct/columns';
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

/**
 * The correction a first-pass summary calls for, or undefined when the page is fine as it is.
 * Nothing is corrected on a page with fewer than 3 text lines. A turned page (orientation ≠ 0) is
 * rotated (`turnToCorrect`); a skew over its threshold only when the lines agree on it (`confidence ≥
 * minConfidence`). A skew left alone is left out of a turn too: a turned page with a negligible
 * skew is turned pixel for pixel, not resampled. A median line curvature over its threshold, or
 * lines that fan out (`fanDeg`), is dewarped (the quality gate checks the result). Rotation comes
 * first; a curled or fanned page is then dewarped with a thin-plate spline. A probe turn
 * (`probesTurn`) is a rotation alone: lines read across a sideways page's glyphs are not worth
 * straightening.
 */
export function planFor(summary: PageSummary, cfg: ControllerConfig): TransformPlan | undefined {
  if (summary.textLines < 3) return undefined; // too little text to tell anything by
  const trusted = summary.confidence >= cfg.minConfidence;
  const turn = turnToCorrect(summary);
  const deskew = trusted && Math.abs(summary.skewDeg) >= cfg.skewThresholdDeg;
  const rotate = turn !== 0 || deskew;
  // Curl does not need the lines to agree on one angle (a photographed page's lines fan out);
  // lines that fan out (perspective) are dewarped too: the spline takes each onto a level line.
  const dewarp = !probesTurn(summary) && (curled(summary, cfg) || (summary.fanDeg ?? 0) > 0);
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

/** Whether the first pass is sure enough of a page's orientation to turn it by its reading alone. */
const sureTurn = (summary: PageSummary) => (summary.orientationConfidence ?? 1) >= ORIENTATION_GATE.minTurnConfidence;

/**
 * Whether a correction turns the page to let the second pass decide its direction: a page read
 * sideways (90 or 270) too unsure to be turned by its reading alone. Its lines run across the
 * frame, where the detector breaks them into glyph-sized pieces and the direction classifier has
 * little to read; turned onto its axis, the second pass reads whole lines, and says which way up.
 * (An unsure 180 is not probed: turned, the second pass would read the same lines.)
 */
export function probesTurn(summary: PageSummary): boolean {
  return (summary.orientationDeg === 90 || summary.orientationDeg === 270) && !sureTurn(summary);
}

/** The turn a correction applies: the read orientation when it is confident enough or probed, else none. */
export function turnToCorrect(summary: PageSummary): number {
  if (summary.orientationDeg === 0) return 0;
  return sureTurn(summary) || probesTurn(summary) ? summary.orientationDeg : 0;
}

/**
 * The orientation a page publishes, and how sure it is. A first-pass reading stands unless a turn
 * was tried and the quality gate rejected it: then the second pass, which read the page turned
 * back by the first reading o₁, is the evidence: its own reading o₂ (when at least
 * `minEvidenceConfidence` sure) means the original was turned by o₁ + o₂ (o₂ = 180 after a 180°
 * turn: upright after all; o₂ = 0: the turn was right and something else failed the gate);
 * without sure evidence the page publishes 0 with confidence 0. A reading too unsure to turn by is
 * not published either (0, confidence 0), unless it was probed (`probesTurn`): then the second
 * pass's reading, at least `minProbeEvidence` sure, is the evidence, confirmed or not, and its
 * confidence the one published.
 */
export function publishedOrientation(first: PageSummary, second: PageSummary | undefined, plan: TransformPlan | undefined, confirmed: boolean): { deg: number; confidence: number | null } {
  const probed = probesTurn(first);
  if (plan && second && confirmed && probed) return { deg: first.orientationDeg, confidence: second.orientationConfidence ?? null };
  const turned = turnToCorrect(first);
  if (!plan || !second || confirmed || turned === 0) {
    // A weak reading no second pass supports is not published: the evidence does not say it.
    const unsupported = first.orientationDeg !== 0 && !sureTurn(first);
    return unsupported ? { deg: 0, confidence: 0 } : { deg: first.orientationDeg, confidence: first.orientationConfidence ?? null };
  }
  const evidence = second.orientationConfidence ?? 0;
  if (evidence < (probed ? ORIENTATION_GATE.minProbeEvidence : ORIENTATION_GATE.minEvidenceConfidence)) return { deg: 0, confidence: 0 };
  return { deg: (turned + second.orientationDeg) % 360, confidence: evidence };
}

/**
 * The quality gate: the second pass must confirm the correction. A turned page must not read
 * turned again on the second pass (a reading of at least `minEvidenceConfidence`; a weaker one is
 * no evidence either way: the first pass's turn stands, and the reading's orientation is left out of
 * the tilt) — a probe turn stands only on the second pass's word: it must read the page upright at
 * least `minProbeEvidence` sure; the page must have kept at least half of its text lines, its tilt
 * must have shrunk (or be under the skew threshold), and a dewarp must have made the lines
 * straighter (a curled page) or fan out less (a page dewarped for its perspective alone).
 */
export function confirms(first: PageSummary, second: PageSummary, plan: TransformPlan, cfg: ControllerConfig): boolean {
  // A turned page must read upright once turned back: a page the classifier reads upside down
  // both ways (it guesses) is not turned.
  const evidence = second.orientationConfidence ?? 1;
  const readsTurned = second.orientationDeg !== 0 && evidence >= ORIENTATION_GATE.minEvidenceConfidence;
  if (turnToCorrect(first) !== 0 && readsTurned) return false;
  if (probesTurn(first) && evidence < ORIENTATION_GATE.minProbeEvidence) return false;
  const linesKept = second.textLines >= 0.5 * first.textLines;
  const residual = Math.abs(readsTurned ? tiltDeg(second) : second.skewDeg);
  const tiltOk = residual < cfg.skewThresholdDeg || residual < Math.abs(tiltDeg(first));
  const straighter = !plan.dewarp || (curled(first, cfg) ? second.curvaturePx < first.curvaturePx : (second.fanDeg ?? 0) < (first.fanDeg ?? 0));
  return linesKept && tiltOk && straighter;
}

/**
 * The note of a probed page whose second pass calls for a correction of its own, which it does not
 * get (a page is corrected once): which part of its geometry is left as it is.
 */
function uncorrected(second: PageSummary, cfg: ControllerConfig): string | undefined {
  const plan = planFor(second, cfg);
  if (!plan) return undefined;
  const left = [plan.rotateDeg !== 0 && `its skew (${plan.rotateDeg.toFixed(2)}°)`, plan.dewarp && 'its bent lines'].filter(Boolean).join(' and ');
  return `turned to read which way up it is; ${left} left as it is (a page is corrected once)`;
}

/** A page leaving the loop: its row, the summaries behind it and the correction it kept (for reports and inspection). */
export interface PageResult {
  record: VolumeRecord;
  /** The first pass's summary (absent for pages that never reached the model). */
  first?: PageSummary;
  /** The summary of the geometry the page ends with. */
  final?: PageSummary;
  /** The correction the page kept (absent when it keeps its original geometry). */
  applied?: TransformPlan;
}

/** How a page leaves the loop. */
interface Outcome {
  transform: TransformKind;
  rejected: TransformKind | null;
  /** The summary whose geometry the page ends with. */
  final?: PageSummary;
  note?: string;
  /** The orientation published, when not the first pass's (see `publishedOrientation`). */
  orientation?: { deg: number; confidence: number | null };
  /**
   * The summary the row's skew, its confidence and the curvature come from, when not the first
   * pass's: a probed page (`probesTurn`) whose second pass the published orientation rests on.
   */
  read?: PageSummary;
}

/** The states a page leaves the loop in. */
export type LeavingPage = SummarisedPage | UncorrectedPage | FailedPage;

/** The first pass's summary of a leaving page (undefined when it never reached the model). */
function firstOf(page: LeavingPage): PageSummary | undefined {
  if (page.state === 'failed') return undefined;
  return page.state === 'summarised' ? page.correction?.first ?? page.summary : page.summary;
}

/** The correction a leaving page keeps: its second pass's plan, when the outcome keeps a transform. */
function appliedPlan(page: LeavingPage, outcome: Outcome): TransformPlan | undefined {
  return outcome.transform !== 'none' && page.state === 'summarised' ? page.correction?.plan : undefined;
}

/** The result of a page leaving the loop. */
export function resultOf(page: LeavingPage, outcome: Outcome): PageResult {
  const applied = appliedPlan(page, outcome);
  return { record: recordOf(page, outcome), first: firstOf(page), final: outcome.final, ...(applied ? { applied } : {}) };
}

/** The Parquet row for a page leaving the loop. */
export function recordOf(page: LeavingPage, outcome: Outcome, now = performance.now()): VolumeRecord {
  const { task, timings } = page;
  const error = page.state === 'failed' ? page : undefined;
  const frame = page.state === 'failed' ? undefined : page.frame;
  const first = firstOf(page);
  const final = outcome.final;
  const applied = appliedPlan(page, outcome);
  const read = outcome.read ?? first;
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
    orientation_deg: outcome.orientation?.deg ?? first?.orientationDeg ?? null,
    orientation_confidence: outcome.orientation ? outcome.orientation.confidence : first?.orientationConfidence ?? null,
    skew_deg: read?.skewDeg ?? null,
    confidence: read?.confidence ?? null,
    transform: outcome.transform,
    rejected_transform: outcome.rejected,
    residual_skew_deg: final ? tiltDeg(final) : null,
    curvature_px: read?.curvaturePx ?? null,
    residual_curvature_px: final?.curvaturePx ?? null,
    text_lines: final?.textLines ?? null,
    text_coverage: final?.textCoverage ?? null,
    passes: first ? page.pass : 0,
    fetch_ms: timings.fetchMs,
    decode_ms: timings.decodeMs,
    infer_ms: timings.inferMs,
    transform_ms: timings.transformMs,
    total_ms: now - page.enteredAt,
    ...correctionColumns(
      frame && { width: frame.sourceWidth, height: frame.sourceHeight },
      applied && first && frame ? { plan: applied, first, corrected: frame } : null,
    ),
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
 * `rejected_transform`). A page is corrected at most once (`maxPasses` 2; 1 turns corrections off).
 */
export class TransformController {
  constructor(private readonly cfg: ControllerConfig) {
    if (cfg.maxPasses !== 1 && cfg.maxPasses !== 2) throw new Error(`config.maxPasses must be 1 or 2, got ${cfg.maxPasses}`);
  }

  /** The page's result, or (a first pass that calls for a correction) the page with its plan. A pure function of the page. */
  decide(page: SummarisedPage | FailedPage): PageResult | PlannedPage {
    if (page.state === 'failed') return resultOf(page, { transform: 'none', rejected: null });
    const { summary, correction } = page;
    if (!correction) {
      const plan = this.cfg.maxPasses > 1 ? planFor(summary, this.cfg) : undefined;
      if (plan) return { ...page, state: 'planned', plan };
      const orientation = publishedOrientation(summary, undefined, undefined, false);
      return resultOf(page, { transform: 'none', rejected: null, final: summary, orientation });
    }
    const { first, plan } = correction;
    const confirmed = confirms(first, summary, plan, this.cfg);
    const orientation = publishedOrientation(first, summary, plan, confirmed);
    // A probed page's second pass read it along its lines: its readings are the page's, where its orientation is.
    const read = probesTurn(first) && orientation.confidence ? summary : undefined;
    if (confirmed) return resultOf(page, { transform: plan.kind, rejected: null, final: summary, orientation, read, note: read && uncorrected(summary, this.cfg) });
    const note = orientation.deg !== first.orientationDeg ? `turn by ${first.orientationDeg}° rejected by the second pass; orientation ${orientation.deg}° published (confidence ${(orientation.confidence ?? 0).toFixed(2)})` : undefined;
    return resultOf(page, { transform: 'none', rejected: plan.kind, final: first, orientation, read, note });
  }

  /** A decided page after the Transformer: a result exits, a corrected page re-enters, an uncorrectable one exits as it was. */
  loopStep(page: PageResult | DecodedPage | UncorrectedPage): LoopStep<DecodedPage, PageResult> {
    if (!('state' in page)) return exitLoop(page);
    if (page.state === 'decoded') return reenterLoop(page);
    return exitLoop(resultOf(page, { transform: 'none', rejected: page.plan.kind, final: page.summary, note: page.reason }));
  }
}
