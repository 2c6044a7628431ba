import { tilePatches, type PatchLayout } from '../decode/tile';
import type { DecodedFrame, TextLine, TransformPlan } from '../types';
import { RgbImage } from './image';
import { RotateBackend, Rotation, defaultRotateBackend, isIdentityRotation, planRotation, rotateImage, rotateTextLines } from './rotate';
import { DewarpPoints, dewarpControlPoints, dewarpImage, fitDewarp } from './tps';

/** How a correction plan is carried out on a frame: the rotation, then the dewarp's control points on the rotated canvas. */
export interface CorrectionGeometry {
  rotation: Rotation;
  /** The rotation leaves every pixel where it is. */
  unchanged: boolean;
  /** Null when the plan has no dewarp or no line is usable. */
  dewarp: DewarpPoints | null;
}

/**
 * The geometry of a page's correction plan on a `width`×`height` frame: the rotation onto a canvas
 * whose longest side is at most `maxSide`, and the dewarp fitted to the text lines carried through
 * that rotation. `lines` are in the frame's coordinates.
 */
export function correctionGeometry(width: number, height: number, plan: TransformPlan, lines: readonly TextLine[], maxSide: number): CorrectionGeometry {
  const rotation = planRotation(width, height, plan.rotateDeg, maxSide);
  const unchanged = isIdentityRotation(rotation, width, height);
  const dewarp = plan.dewarp ? dewarpControlPoints(unchanged ? lines : rotateTextLines(rotation, lines), rotation.width, rotation.height) : null;
  return { rotation, unchanged, dewarp };
}

/** Applies a page's correction plan to `image` (see {@link correctionGeometry}). */
export async function correctPage(
  image: RgbImage,
  plan: TransformPlan,
  lines: readonly TextLine[],
  maxSide: number,
  backend: RotateBackend = defaultRotateBackend,
): Promise<RgbImage> {
  const { rotation, unchanged, dewarp } = correctionGeometry(image.width, image.height, plan, lines, maxSide);
  const rotated = unchanged ? image : await rotateImage(image, rotation, backend);
  if (!plan.dewarp) return rotated;
  return dewarpImage(rotated, fitDewarp(dewarp, rotated.width, rotated.height));
}

/**
 * A frame with its correction plan applied (`correctPage`) and the result tiled into model patches
 * by `layout`: the frame the next pass runs on. The source size is carried over.
 */
export async function correctFrame(
  frame: Omit<DecodedFrame, 'patches' | 'channels'>,
  plan: TransformPlan,
  lines: readonly TextLine[],
  layout: PatchLayout,
  maxSide: number,
): Promise<DecodedFrame> {
  const corrected = await correctPage(frame, plan, lines, maxSide);
  const { width, height, pixels } = corrected;
  return { width, height, channels: 3, pixels, sourceWidth: frame.sourceWidth, sourceHeight: frame.sourceHeight, patches: tilePatches(pixels, width, height, layout) };
}
