/**
 * The data that flows through a volume pipeline.
 *
 * One `PageWork` envelope per input page travels from the Prefetcher to the controller's exit, its
 * `state` saying how far it got (listed → fetched → decoded → inferred → summarised → planned →
 * decoded again after a correction); each stage takes the states it can work on, so the compiler
 * checks the stage order. A stage that fails makes the page `failed`, and every later stage lets
 * it pass (`bypass(isFailed, …)`), so a bad page becomes one error row and nothing else is lost.
 */

/** One input object of a volume, as listed. `seq` is the listing order (0-based). */
export interface ImageTask {
  volumeId: string;
  key: string;
  etag: string;
  size: number;
  seq: number;
  /** Set when the listing found the entry unreadable (vanished, not a regular file, name too long): its row is this error. */
  error?: string;
}

/**
 * Why a row is an error: `input` = the page itself (missing, changed, not a file, not a readable
 * image, too large); `transient` = the store could not be reached or throttled us through all
 * retries (a volume with such rows is not published, see S3ParquetWriter).
 */
export type ErrorKind = 'input' | 'transient';

/** Milliseconds spent per stage for one page (summed over passes where a stage runs twice). */
export interface StageTimings {
  fetchMs: number;
  decodeMs: number;
  inferMs: number;
  transformMs: number;
  /** From the moment the page entered the pipeline to its Record. */
  totalMs: number;
}

/**
 * Model-input patches of one frame: `count` patches of `size`×`size`, laid out on a grid over the
 * frame with `stride` = size − overlap. `data` is one transferable buffer of RGB bytes, patch after
 * patch, each channel-planar (CHW), fed to the byte-wrapped model as they are (`byteAdapter`). Once the model has read them the batcher drops them (`count` 0, empty
 * `data`): only the pixels travel on.
 */
export interface PatchSet {
  size: number;
  stride: number;
  cols: number;
  rows: number;
  count: number;
  data: Uint8Array;
}

/**
 * A decoded page at analysis scale: interleaved 8-bit RGB, EXIF orientation applied, longest side
 * at most `PipelineConfig.analysisMaxSide`. `pixels` owns its ArrayBuffer so it can be transferred
 * between threads without a copy.
 */
export interface DecodedFrame {
  width: number;
  height: number;
  channels: 3;
  pixels: Uint8Array;
  /** Size of the source image before scaling to analysis scale. */
  sourceWidth: number;
  sourceHeight: number;
  /** A remark the decoder has on an image it could read (a multi-page file: only page 1 is analysed). */
  note?: string;
  patches: PatchSet;
}

/** A detected text line: its centre path, left to right in reading direction, in frame pixels. */
export interface TextLine {
  points: Array<[number, number]>;
  /** Mean height of the line in pixels. */
  height: number;
  /** Angle of the chord from first to last point, degrees, clockwise positive. */
  angleDeg: number;
  /** Largest distance of the centre path from its straight chord, in pixels. */
  curvaturePx: number;
}

/**
 * What the model says about a page after one pass.
 * Sign convention: `orientationDeg` and `skewDeg` are the clockwise rotation of the page content as
 * displayed; correcting the page means rotating it counter-clockwise by orientation + skew.
 */
export interface PageSummary {
  orientationDeg: 0 | 90 | 180 | 270;
  /** 0..1: how sure the orientation is (line direction and direction classifier); absent: not measured. */
  orientationConfidence?: number;
  skewDeg: number;
  /** 0..1: how much the lines agree on the skew estimate. */
  confidence: number;
  textLines: number;
  /** Fraction of the page area covered by text (0..1). */
  textCoverage: number;
  /** Median over long lines of `TextLine.curvaturePx`. */
  curvaturePx: number;
  lines: TextLine[];
  /** The frame size the lines are measured in. */
  width: number;
  height: number;
}

export type TransformKind = 'none' | 'rotate' | 'tps';

/** A correction decided by the TransformController and applied before the second pass. */
export interface TransformPlan {
  kind: Exclude<TransformKind, 'none'>;
  /** Counter-clockwise rotation applied to the page, degrees (= orientation + skew). */
  rotateDeg: number;
  /** Whether a thin-plate-spline dewarp follows the rotation. */
  dewarp: boolean;
}

/** What every state of a page's envelope carries. */
interface PageBase {
  task: ImageTask;
  /** 1 on the initial lane, 2+ after a correction on the reprocess lane. */
  pass: number;
  enteredAt: number;
  timings: StageTimings;
  /** A remark on a page that is ok all the same (the decoder's `DecodedFrame.note`); it goes into the row's `error` column. */
  note?: string;
}

/** The correction a page in its second pass went through: the plan and the first pass's summary it was made from. */
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
export type PageWork = ListedPage | FetchedPage | DecodedPage | InferredPage | SummarisedPage | PlannedPage | UncorrectedPage | FailedPage;

/** Whether a page has failed (the predicate stages `bypass` with). */
export function isFailed(page: PageWork): page is FailedPage {
  return page.state === 'failed';
}

/** One row of the published Parquet table. */
export interface VolumeRecord {
  volume_id: string;
  seq: number;
  key: string;
  etag: string;
  status: 'ok' | 'error';
  error: string | null;
  /** Set on error rows: see `ErrorKind`. */
  error_kind: ErrorKind | null;
  width: number | null;
  height: number | null;
  orientation_deg: number | null;
  /** 0..1: how sure `orientation_deg` is (see README). */
  orientation_confidence: number | null;
  skew_deg: number | null;
  confidence: number | null;
  transform: TransformKind;
  /** The correction that was tried and rejected by the quality gate, if any. */
  rejected_transform: TransformKind | null;
  residual_skew_deg: number | null;
  curvature_px: number | null;
  residual_curvature_px: number | null;
  text_lines: number | null;
  text_coverage: number | null;
  passes: number;
  fetch_ms: number;
  decode_ms: number;
  infer_ms: number;
  transform_ms: number;
  total_ms: number;
  /** Counter-clockwise rotation applied to the original, degrees (0: none kept); null on error rows. */
  applied_rotation_deg: number | null;
  /** Size of the corrected image at full resolution (the rotated canvas); null on error rows. */
  image_width: number | null;
  image_height: number | null;
  /** The dewarp's control points in full-resolution pixels of the rotated canvas, JSON (see `DewarpPointsJson`); null: no dewarp. */
  dewarp_points: string | null;
  /** The published corrected page image (its key under the output, in `<volumeId>/pages/<attemptId>/`); null when images are off and on error rows. */
  image_key: string | null;
}

/** The seed's name for a row. */
export type { VolumeRecord as Record };

export function emptyTimings(): StageTimings {
  return { fetchMs: 0, decodeMs: 0, inferMs: 0, transformMs: 0, totalMs: 0 };
}

/** A new envelope for a listed task. */
export function pageWork(task: ImageTask, now = performance.now()): ListedPage {
  return { state: 'listed', task, pass: 1, enteredAt: now, timings: emptyTimings() };
}

/** The page failed: its error set and its buffers dropped (so memory goes back at once). */
export function failed(work: PageWork, error: string, errorKind: ErrorKind = 'input'): FailedPage {
  return { state: 'failed', task: work.task, pass: work.pass, enteredAt: work.enteredAt, timings: work.timings, error, errorKind };
}
