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
 * rotated; a skew over its threshold only when the lines agree on it (`confidence ≥
 * minConfidence`). A skew left alone is left out of a turn too: a turned page with a negligible
 * skew is turned pixel for pixel, not resampled. A median line curvature over its threshold, or
 * lines that fan out (`fanDeg`), is dewarped (the quality gate checks the result). Rotation comes
 * first; a curled or fanned page is then dewarped with a thin-plate spline.
 */
export function planFor(summary: PageSummary, cfg: ControllerConfig): TransformPlan | undefined {
  if (summary.textLines < 3) return undefined; // too little text to tell anything by
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
 * The controller's orientation tuning: a page is turned only when its orientation confidence is at
 * least `minTurnConfidence` (a summary without one, from a summarizer that does not measure it,
 * is trusted); a second pass's reading counts as evidence about the original only from
 * `minEvidenceConfidence` up.
 */
export const ORIENTATION_GATE = { minTurnConfidence: 0.2, minEvidenceConfidence: 0.2 };

/** The turn a correction applies: the read orientation when it is confident enough, else none. */
export function turnToCorrect(summary: PageSummary): number {
  if (summary.orientationDeg === 0) return 0;
  return (summary.orientationConfidence ?? 1) >= ORIENTATION_GATE.minTurnConfidence ? summary.orientationDeg : 0;
}

/**
 * The orientation a page publishes, and how sure it is. A first-pass reading stands unless a turn
 * was tried and the quality gate rejected it: then the second pass, which read the page turned
 * back by the first reading o₁, is the evidence: its own reading o₂ (when at least
 * `minEvidenceConfidence` sure) means the original was turned by o₁ + o₂ (o₂ = 180 after a 180°
 * turn: upright after all; o₂ = 0: the turn was right and something else failed the gate);
 * without sure evidence the page publishes 0 with confidence 0. A turn too unsure to be applied
 * is not published either (0, confidence 0).
 */
export function publishedOrientation(first: PageSummary, second: PageSummary | undefined, plan: TransformPlan | undefined, confirmed: boolean): { deg: number; confidence: number | null } {
  const own = { deg: first.orientationDeg, confidence: first.orientationConfidence ?? null };
  if (confirmed || !plan || !second) {
    // A weak turn that was not applied is not published either: the evidence does not support it.
    if (first.orientationDeg !== 0 && turnToCorrect(first) === 0) return { deg: 0, confidence: 0 };
    return own;
  }
  const turned = turnToCorrect(first);
  if (turned === 0) return own.deg === 0 ? own : { deg: 0, confidence: 0 };
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
 * fan out less (a page dewarped for its perspective alone).
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
    skew_deg: first?.skewDeg ?? null,
    confidence: first?.confidence ?? null,
    transform: outcome.transform,
    rejected_transform: outcome.rejected,
    residual_skew_deg: final ? tiltDeg(final) : null,
    curvature_px: first?.curvaturePx ?? null,
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
    if (confirms(first, summary, plan, this.cfg)) return resultOf(page, { transform: plan.kind, rejected: null, final: summary, orientation: publishedOrientation(first, summary, plan, true) });
    const orientation = publishedOrientation(first, summary, plan, false);
    const note = orientation.deg !== first.orientationDeg ? `turn by ${first.orientationDeg}° rejected by the second pass; orientation ${orientation.deg}° published (confidence ${(orientation.confidence ?? 0).toFixed(2)})` : undefined;
    return resultOf(page, { transform: 'none', rejected: plan.kind, final: first, orientation, note });
  }

  /** A decided page after the Transformer: a result exits, a corrected page re-enters, an uncorrectable one exits as it was. */
  loopStep(page: PageResult | DecodedPage | UncorrectedPage): LoopStep<DecodedPage, PageResult> {
    if (!('state' in page)) return exitLoop(page);
    if (page.state === 'decoded') return reenterLoop(page);
    return exitLoop(resultOf(page, { transform: 'none', rejected: page.plan.kind, final: page.summary, note: page.reason }));
  }
}
