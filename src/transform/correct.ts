import { tilePatches, type PatchLayout } from '../decode/tile';
import type { DecodedFrame, TextLine, TransformPlan } from '../types';
import { RgbImage } from './image';
import { RotateBackend, defaultRotateBackend, isIdentityRotation, planRotation, rotateImage, rotateTextLines } from './rotate';
import { dewarpImage, planDewarp } from './tps';

/**
 * Applies a page's correction plan: the rotation first (onto a canvas whose longest side is at
 * most `maxSide`), then, if the plan says so, the dewarp fitted to the text lines carried through
 * that rotation. `lines` are in the coordinates of `image`.
 */
export async function correctPage(
  image: RgbImage,
  plan: TransformPlan,
  lines: readonly TextLine[],
  maxSide: number,
  backend: RotateBackend = defaultRotateBackend,
): Promise<RgbImage> {
  const rotation = planRotation(image.width, image.height, plan.rotateDeg, maxSide);
  const unchanged = isIdentityRotation(rotation, image.width, image.height);
  const rotated = unchanged ? image : await rotateImage(image, rotation, backend);
  if (!plan.dewarp) return rotated;
  const dewarp = planDewarp(unchanged ? lines : rotateTextLines(rotation, lines), rotated.width, rotated.height);
  return dewarpImage(rotated, dewarp);
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
