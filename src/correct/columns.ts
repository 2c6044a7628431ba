import { correctionGeometry } from '../transform/correct';
import { Affine, applyAffine, composeAffine, invertAffine, planRotation } from '../transform/rotate';
import type { PageSummary, TransformPlan, VolumeRecord } from '../types';

/** The row's correction columns: what `applyCorrection` needs to rebuild the corrected page. */
export type CorrectionColumns = Pick<VolumeRecord, 'applied_rotation_deg' | 'image_width' | 'image_height' | 'dewarp_points'>;

/**
 * `dewarp_points` parsed: the thin-plate spline moves each `source` point onto its `target`
 * (full-resolution pixels of the rotated canvas, pixel centres at integers); `smoothing` is its λ.
 */
export interface DewarpPointsJson {
  smoothing: number;
  source: Array<[number, number]>;
  target: Array<[number, number]>;
}

/** A correction the quality gate confirmed: the plan, the first-pass summary it was made from, and its result. */
export interface AppliedCorrection {
  plan: TransformPlan;
  /** Its lines and size are the analysis frame's (the frame the plan was applied to). */
  first: PageSummary;
  /**
   * The corrected analysis frame's size. Its longest side stands in for the analysis maximum side:
   * a canvas scaled down to fit has exactly that side, and one that fits unscaled gives the same
   * rotation with it.
   */
  corrected: { width: number; height: number };
}

/** Pixel-centre scaling from a `from`-sized frame onto a `to`-sized one (same content). */
function scaleFrame(from: { width: number; height: number }, to: { width: number; height: number }): Affine {
  const sx = to.width / from.width;
  const sy = to.height / from.height;
  return [sx, 0, (sx - 1) / 2, 0, sy, (sy - 1) / 2];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The rotation a correction applies to the original when it was made on the original turned by
 * `turnedBy` (a probed page's quarter turn, see `probesTurn`; 0: on the original itself): the two
 * add up, in [0, 360) when there is a turn.
 */
export function turnedRotation(turnedBy: number, rotateDeg: number): number {
  return turnedBy === 0 ? rotateDeg : (((turnedBy + rotateDeg) % 360) + 360) % 360;
}

/**
 * The correction columns of a page's row. `source` is the original's size with its EXIF
 * orientation applied (undefined on error rows: all null); `applied` the correction kept (null:
 * 0°, the original's size, no dewarp), made on the original turned by `turnedBy` (a quarter
 * turn; rotating by both at once lands on the same canvas as one after the other). The dewarp's
 * control points are the ones the analysis frame was dewarped with (see `correctionGeometry`),
 * carried from the analysis canvas onto the full-resolution canvas: analysis canvas → analysis
 * frame → (turned) original → full-size rotation.
 */
export function correctionColumns(source: { width: number; height: number } | undefined, applied: AppliedCorrection | null, turnedBy = 0): CorrectionColumns {
  if (!source) return { applied_rotation_deg: null, image_width: null, image_height: null, dewarp_points: null };
  if (!applied) return { applied_rotation_deg: 0, image_width: source.width, image_height: source.height, dewarp_points: null };
  const { plan, first, corrected } = applied;
  const turned = turnedBy % 180 === 0 ? source : { width: source.height, height: source.width };
  const full = planRotation(turned.width, turned.height, plan.rotateDeg);
  const analysis = correctionGeometry(first.width, first.height, plan, first.lines, Math.max(corrected.width, corrected.height));
  let dewarp: DewarpPointsJson | null = null;
  if (analysis.dewarp) {
    const toFull = composeAffine(full.matrix, composeAffine(scaleFrame(first, turned), invertAffine(analysis.rotation.matrix)));
    const carry = (p: readonly [number, number]) => applyAffine(toFull, p).map(round2) as [number, number];
    dewarp = { smoothing: analysis.dewarp.smoothing, source: analysis.dewarp.from.map(carry), target: analysis.dewarp.to.map(carry) };
  }
  return {
    applied_rotation_deg: turnedRotation(turnedBy, plan.rotateDeg),
    image_width: full.width,
    image_height: full.height,
    dewarp_points: dewarp && JSON.stringify(dewarp),
  };
}
