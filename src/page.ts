/**
 * The envelope a page travels in through a volume pipeline.
 *
 * One `PageWork` envelope per input page travels from the Prefetcher to the controller's exit, its
 * `state` saying how far it got (listed → fetched → decoded → inferred → analysed → summarised →
 * planned → decoded again after a correction); each stage takes the states it can work on, so the
 * compiler checks the stage order. A stage that fails makes the page `failed`, and every later
 * stage lets it pass (`bypass(isFailed, …)`), so a bad page becomes one error row and nothing else
 * is lost.
 */
import type { DirectionRequest } from './model/orientation';
import { emptyTimings, type DecodedFrame, type ErrorKind, type ImageTask, type PageSummary, type StageTimings, type TransformPlan } from './types';

/** What every state of a page's envelope carries. */
interface PageBase {
  task: ImageTask;
  /** 1 on the initial lane, 2+ after a correction on the reprocess lane. */
  pass: number;
  enteredAt: number;
  timings: StageTimings;
  /** A remark on a page that is ok all the same (the decoder's `DecodedFrame.note`); it goes into the row's `error` column. */
  note?: string;
  /**
   * A page read sideways but unsure which way up (`probesTurn`), after the turn onto its axis that
   * its second pass read it by: from then on its summaries read the page as turned by
   * `probe.plan`, and its corrections come on top of that turn.
   */
  probe?: Correction;
}

/** The correction a page in its next pass went through: the plan and the summary (of the pass before) it was made from. */
export interface Correction {
  plan: TransformPlan;
  first: PageSummary;
}

/** A page as listed, before its bytes are fetched. */
export interface ListedPage extends PageBase {
  state: 'listed';
}

/** A page whose bytes are fetched. */
export interface FetchedPage extends PageBase {
  state: 'fetched';
  bytes: Uint8Array;
}

/**
 * A page with a frame and its model patches, ready for the model: decoded (pass 1), or corrected
 * by the Transformer (pass 2, with the `correction` it went through).
 */
export interface DecodedPage extends PageBase {
  state: 'decoded';
  frame: DecodedFrame;
  correction?: Correction;
}

/** A page the model has run on: its frame's byte maps (255·p), patch after patch. */
export interface InferredPage extends PageBase {
  state: 'inferred';
  frame: DecodedFrame;
  maps: Uint8Array;
  correction?: Correction;
}

/**
 * A page the analysis threads have read (text lines, skew), its orientation still open: `summary`
 * reads it upright in its base orientation (0 or 90), and `direction` holds the line crops whose
 * classifier scores decide whether it is turned by 180° more (see `orientPage`).
 */
export interface AnalysedPage extends PageBase {
  state: 'analysed';
  frame: DecodedFrame;
  summary: PageSummary;
  direction: DirectionRequest;
  correction?: Correction;
}

/** A page with the summary of its latest pass; its frame keeps the pixels, its patches are dropped. */
export interface SummarisedPage extends PageBase {
  state: 'summarised';
  frame: DecodedFrame;
  summary: PageSummary;
  correction?: Correction;
}

/** A first-pass page the controller decided to correct, with its plan. */
export interface PlannedPage extends PageBase {
  state: 'planned';
  frame: DecodedFrame;
  summary: PageSummary;
  plan: TransformPlan;
}

/** A planned page whose correction could not be applied: it leaves with its first-pass geometry. */
export interface UncorrectedPage extends PageBase {
  state: 'uncorrected';
  frame: DecodedFrame;
  summary: PageSummary;
  plan: TransformPlan;
  reason: string;
}

/** A page that failed at some stage: it becomes an error row, and every later stage lets it pass. */
export interface FailedPage extends PageBase {
  state: 'failed';
  error: string;
  errorKind: ErrorKind;
}

/** The envelope that carries one page through the pipeline: one of its states. */
export type PageWork = ListedPage | FetchedPage | DecodedPage | InferredPage | AnalysedPage | SummarisedPage | PlannedPage | UncorrectedPage | FailedPage;

/** Whether a page has failed (the predicate stages `bypass` with). */
export function isFailed(page: PageWork): page is FailedPage {
  return page.state === 'failed';
}

/** A new envelope for a listed task. */
export function pageWork(task: ImageTask, now = performance.now()): ListedPage {
  return { state: 'listed', task, pass: 1, enteredAt: now, timings: emptyTimings() };
}

/** The page failed: its error set and its buffers dropped (so memory goes back at once). */
export function failed(work: PageWork, error: string, errorKind: ErrorKind = 'input'): FailedPage {
  return { state: 'failed', task: work.task, pass: work.pass, enteredAt: work.enteredAt, timings: work.timings, error, errorKind };
}
