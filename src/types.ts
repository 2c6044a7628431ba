/**
 * The data that flows through a volume pipeline.
 *
 * What a page is made of on its way (task, frame, summary, plan) and the row it ends as; the
 * envelope that carries it from stage to stage, one state per stage, is in page.ts.
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
  /**
   * How far the lines' angles spread across the page where they fan out (perspective: a page
   * photographed at a slant), degrees; 0 where they do not, absent where not measured.
   */
  fanDeg?: number;
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
